import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  INVITE_PREFIX, createInvite, decodeInvite, encodeInvite, generateIdentity, inviteSecretHash, inviteSigningBytes, newInviteId,
  newInviteSecret, newSwarmKey, parseKey, swarmKeyBytes, swarmKeyFile, type Identity, type InviteFields
} from '../src/index.js'

const NOW = 1_800_000_000_000
const [issuer, other] = await Promise.all([generateIdentity(), generateIdentity()])

function fields (identity: Identity = issuer, extra: Partial<InviteFields> = {}): InviteFields {
  return {
    meshId: 'mesh-7f3a',
    root: identity.peerId,
    psk: newSwarmKey(),
    bootstrap: [`/ip4/203.0.113.7/tcp/4001/p2p/${identity.peerId}`, `/dns4/node1.acme.example/tcp/4001/p2p/${identity.peerId}`],
    inviteId: newInviteId(),
    secret: newInviteSecret(),
    org: 'acme',
    newOrg: false,
    expires: NOW + 24 * 3_600_000,
    uses: 3,
    ...extra
  }
}

function refusal (token: string, now = NOW): Error {
  try {
    decodeInvite(token, { now })
  } catch (err: any) {
    return err
  }
  assert.unreachable(`accepted ${token}`)
  throw new Error('unreachable')
}

test('an invite decodes to what was signed', () => {
  const given = fields()
  const token = createInvite(issuer, given)
  assert.ok(token.startsWith(INVITE_PREFIX))
  assert.match(token, /^minga1[A-Za-z0-9_-]+$/)
  assert.ok(token.length < 700, `token is ${token.length} characters`)
  const invite = decodeInvite(token, { now: NOW })
  assert.equal({ ...invite, psk: [...invite.psk], secret: [...invite.secret] }, {
    ...given, psk: [...given.psk], secret: [...given.secret], issuer: issuer.peerId, sig: invite.sig
  })
  assert.is(invite.sig.length, 64)
  assert.is(Buffer.from(invite.psk).toString(), Buffer.from(given.psk).toString())
})

test('a new-organization invite carries no org', () => {
  const invite = decodeInvite(createInvite(issuer, fields(issuer, { org: undefined, newOrg: true })), { now: NOW })
  assert.is(invite.newOrg, true)
  assert.not.ok('org' in invite)
})

test('whitespace from wrapped terminal lines is ignored', () => {
  const token = createInvite(issuer, fields())
  const wrapped = `  ${token.slice(0, 40)}\n${token.slice(40, 90)} \r\n\t${token.slice(90)}\n`
  assert.is(decodeInvite(wrapped, { now: NOW }).issuer, issuer.peerId)
})

test('any single changed character reads as damaged', () => {
  const token = createInvite(issuer, fields())
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (let i = 0; i < token.length; i++) {
    const replacement = alphabet[(alphabet.indexOf(token[i]) + 1 + (i % 7)) % alphabet.length]
    const err = refusal(token.slice(0, i) + replacement + token.slice(i + 1))
    assert.is(err.name, 'InvalidInviteError', `position ${i}`)
    assert.match(err.message, i < INVITE_PREFIX.length ? /not a minga invite|not one this minga reads/ : /damaged/, `position ${i}`)
    assert.match(err.message, /"minga invite"/)
  }
})

test('a truncated, extended or mangled token reads as damaged', () => {
  const token = createInvite(issuer, fields())
  for (let length = 0; length < token.length; length += 7) {
    assert.is(refusal(token.slice(0, length)).name, 'InvalidInviteError', `length ${length}`)
  }
  assert.match(refusal(token.slice(0, -1)).message, /damaged/)
  assert.match(refusal(token + 'A').message, /damaged/)
  assert.match(refusal(token + 'AAAA').message, /damaged/)
  assert.match(refusal(token.replace(/.$/, '+')).message, /damaged/)
  assert.match(refusal('https://example.com/join').message, /not a minga invite/)
  assert.match(refusal('minga2abcdef').message, /upgrade minga/)
})

test('an invite altered and re-encoded, or signed by someone else, reads as forged', () => {
  const invite = decodeInvite(createInvite(issuer, fields()), { now: NOW })
  const longer = encodeInvite({ ...invite, expires: invite.expires + 365 * 24 * 3_600_000 })
  const err = refusal(longer)
  assert.is(err.name, 'InvalidInviteError')
  assert.match(err.message, /does not match its issuer .*altered or forged; ask a member for a new one with "minga invite"/)
  assert.not.match(err.message, /damaged/)
  // a valid signature, but not the issuer's
  const resigned = encodeInvite({ ...invite, uses: 1000, sig: other.sign(inviteSigningBytes({ ...invite, uses: 1000 })) })
  assert.match(refusal(resigned).message, /forged/)
  // another org, another bootstrap address: each is covered by the signature
  assert.match(refusal(encodeInvite({ ...invite, org: 'beta' })).message, /forged/)
  assert.match(refusal(encodeInvite({ ...invite, bootstrap: [`/ip4/198.51.100.1/tcp/4001/p2p/${other.peerId}`] })).message, /forged/)
  assert.match(refusal(encodeInvite({ ...invite, psk: newSwarmKey() })).message, /forged/)
})

test('an expired invite says when, and what to do', () => {
  const expires = Date.UTC(2026, 10, 24, 10, 0, 0)
  const token = createInvite(issuer, fields(issuer, { expires }))
  assert.is(decodeInvite(token, { now: expires }).expires, expires)
  const err = refusal(token, expires + 1)
  assert.is(err.name, 'ExpiredInviteError')
  assert.is(err.message, 'This invite expired at 2026-11-24T10:00:00.000Z; ask a member for a new one with "minga invite"')
})

test('oversized input is refused without being read', () => {
  const err = refusal('minga1' + 'A'.repeat(5000))
  assert.is(err.name, 'InvalidInviteError')
  assert.match(err.message, /5006 characters long, more than an invite can be \(4096\)/)
  assert.match(refusal(' '.repeat(20_000)).message, /20000 characters long/)
})

test('createInvite refuses fields it cannot carry', () => {
  const refuse = (extra: Partial<InviteFields>, pattern: RegExp): void => {
    try {
      createInvite(issuer, fields(issuer, extra))
      assert.unreachable(`accepted ${JSON.stringify(Object.keys(extra))}`)
    } catch (err: any) {
      assert.is(err.name, 'InvalidInviteError')
      assert.match(err.message, pattern)
    }
  }
  refuse({ org: 'Acme' }, /org must be an organization name/)
  refuse({ newOrg: true }, /names an org or admits a new one, not both/)
  refuse({ bootstrap: [] }, /bootstrap must list 1 to 8/)
  refuse({ bootstrap: Array(9).fill(`/ip4/1.2.3.4/tcp/1/p2p/${issuer.peerId}`) }, /bootstrap must list 1 to 8/)
  refuse({ bootstrap: ['/ip4/1.2.3.4/tcp/4001'] }, /must be a multiaddr ending in \/p2p\/<peer id>/)
  refuse({ psk: new Uint8Array(95) }, /key\/swarm\/psk/)
  refuse({ secret: new Uint8Array(16) }, /secret must be 32 bytes/)
  refuse({ inviteId: 'XYZ' }, /inviteId must be/)
  refuse({ expires: Number.NaN }, /expires must be/)
  refuse({ uses: 0 }, /uses must be/)
  refuse({ meshId: '' }, /meshId must be/)
  refuse({ root: 'not-a-peer' as any }, /root must be/)
})

test('swarm keys: the pnet file format, rebuilt from 32 bytes', () => {
  const file = newSwarmKey()
  assert.is(file.length, 95)
  assert.match(Buffer.from(file).toString(), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
  const key = swarmKeyBytes(file)
  assert.is(key.length, 32)
  assert.equal([...swarmKeyFile(key)], [...file])
  // a key file saved with upper-case hex and a trailing newline still reads
  const loose = Buffer.from(`/key/swarm/psk/1.0.0/\n/base16/\n${Buffer.from(key).toString('hex').toUpperCase()}\n`)
  assert.equal([...swarmKeyBytes(loose)], [...key])
})

test('ids, secrets and the secret hash', () => {
  const id = newInviteId()
  assert.match(id, /^[0-9a-f]{32}$/)
  assert.equal(parseKey(`invite/${id}`), { kind: 'invite', id })
  assert.is.not(newInviteId(), id)
  const secret = newInviteSecret()
  assert.is(secret.length, 32)
  assert.is(inviteSecretHash(new Uint8Array(32)), '66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925')
  assert.is(inviteSecretHash(secret), createHash('sha256').update(secret).digest('hex'))
})

test('fuzz: random text never crashes the decoder', () => {
  const token = createInvite(issuer, fields())
  const check = (text: string): void => {
    try {
      decodeInvite(text, { now: NOW })
    } catch (err: any) {
      assert.ok(err.name === 'InvalidInviteError' || err.name === 'ExpiredInviteError', err.stack)
    }
  }
  fc.assert(fc.property(fc.string({ maxLength: 600, unit: 'binary' }), check), { numRuns: 500 })
  fc.assert(fc.property(fc.string({ maxLength: 700, unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ \n') }), body => check(INVITE_PREFIX + body)), { numRuns: 500 })
  fc.assert(fc.property(fc.nat(token.length), fc.nat(token.length), fc.string({ maxLength: 5 }), (from, to, insert) => {
    check(token.slice(0, Math.min(from, to)) + insert + token.slice(Math.max(from, to)))
  }), { numRuns: 500 })
})

test.run()
