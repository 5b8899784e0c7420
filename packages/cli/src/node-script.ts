/**
 * Servers as code: the shell script that turns a blank Debian server into a
 * node of this mesh (`minga node script`), and its cloud-init user-data
 * variant. The script is idempotent (it installs, joins and writes only what
 * is missing or different, so a second run changes nothing) and refuses a
 * damaged invite before it touches anything: the invite's sha256 is part of
 * the script. minga itself arrives as the release tarball (`npm run
 * release`: minga with its own Node.js runtime, since Debian 12's Node.js 18
 * is too old), embedded in the script or downloaded from a URL, and is
 * checked against its sha256 either way. `MINGA_ROOT` (a folder prefixed to
 * every path the script writes) lets tests run it without touching the host.
 */
/* eslint-disable no-template-curly-in-string -- the script's ${…} are bash's, in plain strings */
import { createHash } from 'node:crypto'

export interface NodeScriptOptions {
  /** the invite token the server joins with (single use) */
  invite: string
  /** when expires, for the header (ms since epoch) */
  expires: number
  /** the organization the server joins: its org for a same-org invite, a new one's name otherwise */
  org: string
  /** name a new organization at join */
  newOrg: boolean
  labels: Record<string, string>
  /** the release tarball's file name (`minga-0.1.0-linux-x64.tar.gz`) and sha256 */
  artifact: { name: string, sha256: string }
  /** download the tarball from here; absent: `embedded` carries it */
  artifactUrl?: string
  /** the tarball itself, to embed (base64 in the script) */
  embedded?: Buffer
  /** the node's data dir on the server (default /var/lib/minga) */
  dataDir?: string
  /** extra `minga up` flags, e.g. ['--listen', '/ip4/0.0.0.0/tcp/7946'] */
  upArgs?: string[]
}

/** Debian packages a node needs: the container engine, backups, git sources, downloads */
export const NODE_PACKAGES = ['docker.io', 'restic', 'git', 'ca-certificates', 'curl']

/** single-quoted for the shell */
export function shellQuote (text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`
}

/** the setup script (see above) */
export function nodeScript (o: NodeScriptOptions): string {
  const data = o.dataDir ?? '/var/lib/minga'
  const upFlags = [...Object.entries(o.labels).sort().map(([k, v]) => `--label ${k}=${v}`), ...(o.upArgs ?? [])]
  for (const flag of upFlags) if (!/^[A-Za-z0-9_./:=@,-]+( [A-Za-z0-9_./:=@,-]+)?$/.test(flag)) throw new Error(`"${flag}" cannot go into a systemd unit as it is; labels and flags are letters, digits and . _ / : = @ , -`)
  const short = o.artifact.sha256.slice(0, 16)
  const lines = [
    '#!/usr/bin/env bash',
    `# Makes this server a minga node of ${o.org}: installs ${NODE_PACKAGES.join(', ')} and minga`,
    `# (${o.artifact.name}, with its own Node.js runtime), joins the mesh with a single-use invite`,
    `# valid until ${new Date(o.expires).toISOString()}, and runs minga as the systemd service minga.service.`,
    '# Run it as root on Debian 12 (bash minga-node.sh); running it again changes nothing.',
    '# Made by "minga node script"; MINGA_ROOT=DIR writes every file under DIR instead of / (tests).',
    'set -euo pipefail',
    'umask 022',
    'ROOT="${MINGA_ROOT:-}"',
    `INVITE=${shellQuote(o.invite)}`,
    `INVITE_SHA256=${shellQuote(createHash('sha256').update(o.invite).digest('hex'))}`,
    `ORG=${shellQuote(o.org)}`,
    `NEW_ORG=${o.newOrg ? 1 : 0}`,
    `DATA=${shellQuote(data)}`,
    `ARTIFACT=${shellQuote(o.artifact.name)}`,
    `ARTIFACT_SHA256=${shellQuote(o.artifact.sha256)}`,
    `ARTIFACT_URL=${shellQuote(o.artifactUrl ?? '')}`,
    `PACKAGES=(${NODE_PACKAGES.join(' ')})`,
    `INSTALL="/opt/minga-${short}"`,
    '',
    'say () { printf \'minga-setup: %s\\n\' "$*"; }',
    'die () { printf \'minga-setup: %s\\n\' "$*" >&2; exit 1; }',
    'changed=0',
    '',
    '# 0. a damaged invite (a character lost in a copy) stops everything before anything is touched',
    'if [ "$(printf %s "$INVITE" | sha256sum | cut -d" " -f1)" != "$INVITE_SHA256" ]; then',
    '  die "the invite in this script is damaged (its sha256 does not match); make a new script on a node of the mesh: minga node script"',
    'fi',
    'case "$INVITE" in minga1*) ;; *) die "the invite in this script is not a minga invite; make a new script: minga node script" ;; esac',
    'if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then die "run it as root: sudo bash $0"; fi',
    '',
    '# 1. the packages a node needs',
    'missing=()',
    'for package in "${PACKAGES[@]}"; do',
    '  if ! dpkg-query -W -f=\'${Status}\' "$package" 2>/dev/null | grep -q "install ok installed"; then missing+=("$package"); fi',
    'done',
    'if [ ${#missing[@]} -gt 0 ]; then',
    '  say "installing ${missing[*]}"',
    '  DEBIAN_FRONTEND=noninteractive apt-get update -qq',
    '  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"',
    '  changed=1',
    'fi',
    'if ! systemctl is-active --quiet docker; then systemctl enable --now docker; changed=1; fi',
    '',
    '# 2. minga with its own runtime, checked against its sha256, unpacked beside any older one',
    'if [ ! -x "$ROOT$INSTALL/bin/minga" ]; then',
    '  work=$(mktemp -d)',
    '  trap \'rm -rf "$work"\' EXIT',
    '  if [ -n "$ARTIFACT_URL" ]; then',
    '    say "downloading $ARTIFACT"',
    '    curl -fsSL --retry 3 -o "$work/minga.tar.gz" "$ARTIFACT_URL"',
    '  else',
    '    artifact_base64 | base64 -d > "$work/minga.tar.gz"',
    '  fi',
    '  if [ "$(sha256sum "$work/minga.tar.gz" | cut -d" " -f1)" != "$ARTIFACT_SHA256" ]; then die "$ARTIFACT does not match its sha256; nothing was installed"; fi',
    '  mkdir -p "$work/unpacked" "$ROOT/opt"',
    '  tar -xzf "$work/minga.tar.gz" -C "$work/unpacked"',
    '  rm -rf "$ROOT$INSTALL.partial"',
    '  mv "$work/unpacked/minga" "$ROOT$INSTALL.partial"',
    '  mv "$ROOT$INSTALL.partial" "$ROOT$INSTALL"',
    '  say "installed $ARTIFACT in $INSTALL"',
    '  changed=1',
    'fi',
    '# relative links, so they hold under MINGA_ROOT too',
    'if [ "$(readlink "$ROOT/opt/minga" 2>/dev/null || true)" != "${INSTALL#/opt/}" ]; then ln -sfn "${INSTALL#/opt/}" "$ROOT/opt/minga"; changed=1; fi',
    'mkdir -p "$ROOT/usr/local/bin"',
    'if [ "$(readlink "$ROOT/usr/local/bin/minga" 2>/dev/null || true)" != ../../../opt/minga/bin/minga ]; then ln -sfn ../../../opt/minga/bin/minga "$ROOT/usr/local/bin/minga"; changed=1; fi',
    '',
    '# 3. join the mesh, once',
    'if [ -f "$ROOT$DATA/mesh.json" ]; then',
    '  say "already a node ($DATA/mesh.json): not joining again"',
    'else',
    '  join=("$ROOT$INSTALL/bin/minga" --data "$ROOT$DATA" join "$INVITE")',
    '  if [ "$NEW_ORG" = 1 ]; then join+=(--org "$ORG"); fi',
    '  "${join[@]}"',
    '  changed=1',
    'fi',
    '',
    '# 4. minga as a systemd service: KillMode=process lets its supervisor stop the containers if minga dies',
    'unit="[Unit]',
    'Description=minga node',
    'Wants=network-online.target docker.service',
    'After=network-online.target docker.service',
    '',
    '[Service]',
    `ExecStart=/opt/minga/bin/minga --data ${data} up${upFlags.map(f => ` ${f}`).join('')}`,
    'KillMode=process',
    'Restart=always',
    'RestartSec=1',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target"',
    'mkdir -p "$ROOT/etc/systemd/system"',
    'if [ "$(cat "$ROOT/etc/systemd/system/minga.service" 2>/dev/null || true)" != "$unit" ]; then',
    '  printf \'%s\\n\' "$unit" > "$ROOT/etc/systemd/system/minga.service"',
    '  systemctl daemon-reload',
    '  if systemctl is-active --quiet minga; then systemctl restart minga; fi',
    '  changed=1',
    'fi',
    'if ! systemctl is-enabled --quiet minga; then systemctl enable minga; changed=1; fi',
    'if ! systemctl is-active --quiet minga; then systemctl start minga; changed=1; fi',
    '',
    'if [ "$changed" = 0 ]; then say "nothing to do: this server is already a minga node of $ORG"; else say "done: this server is a minga node of $ORG (systemctl status minga; minga --data $DATA status)"; fi',
    'exit 0',
    ''
  ]
  if (o.embedded !== undefined) {
    lines.splice(lines.indexOf('say () { printf \'minga-setup: %s\\n\' "$*"; }'), 0,
      '# the release tarball, base64 (its sha256 is checked before it is unpacked)',
      'artifact_base64 () {',
      '  cat <<\'MINGA_ARTIFACT\'',
      wrapped(o.embedded.toString('base64'), 76),
      'MINGA_ARTIFACT',
      '}',
      '')
  } else {
    lines.splice(lines.indexOf('say () { printf \'minga-setup: %s\\n\' "$*"; }'), 0, 'artifact_base64 () { die "this script downloads minga (ARTIFACT_URL); it embeds none"; }', '')
  }
  return lines.join('\n')
}

/** the script as cloud-init user data: written to /usr/local/sbin/minga-node.sh and run once at first boot */
export function cloudInit (script: string): string {
  return [
    '#cloud-config',
    '# minga node: cloud-init runs the setup script at first boot (see the script\'s header)',
    'write_files:',
    '  - path: /usr/local/sbin/minga-node.sh',
    '    permissions: "0700"',
    '    encoding: b64',
    `    content: ${Buffer.from(script).toString('base64')}`,
    'runcmd:',
    '  - [bash, /usr/local/sbin/minga-node.sh]',
    ''
  ].join('\n')
}

/** `text` in lines of `width` characters, as one string (a tarball's base64 is a million lines: no spread) */
function wrapped (text: string, width: number): string {
  const lines: string[] = []
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width))
  return lines.join('\n')
}
