/**
 * The `minga` command. Every verb but init, join and up talks to the node
 * running on the data dir, through its control socket.
 */
import { nameOf, messageOf } from '@minga/protocol'
import { Command, CommanderError } from 'commander'
import { imageCommands } from './commands-images.js'
import { buildCommands } from './commands-builds.js'
import { meshCommands } from './commands-mesh.js'
import { opsCommands } from './commands-ops.js'
import { serviceCommands } from './commands-services.js'
import { gitopsCommands } from './commands-gitops.js'
import { serverCommands } from './commands-servers.js'
import { volumeCommands } from './commands-volumes.js'
import { simCommands } from './commands-sim.js'
import { trustCommands } from './commands-trust.js'
import { CliError, EXIT } from './errors.js'

const program = new Command('minga')
  .description('Hosting for organizations that share servers: an encrypted peer-to-peer mesh with a leaderless scheduler')
  .version('0.1.0')
  .option('--data <dir>', 'the node\'s data dir (default: $MINGA_DATA or ~/.minga)')
  .showHelpAfterError('(add --help for usage and an example)')
  .exitOverride()

meshCommands(program)
serviceCommands(program)
imageCommands(program)
buildCommands(program)
gitopsCommands(program)
volumeCommands(program)
opsCommands(program)
trustCommands(program)
serverCommands(program)
simCommands(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage)
  }
  const exitCode = err instanceof CliError ? err.exitCode : ['InvalidInviteError', 'ExpiredInviteError', 'BadRequestError', 'InvalidSpecError'].includes(nameOf(err) ?? '') ? EXIT.usage : EXIT.failure
  process.stderr.write(`minga: ${messageOf(err)}\n`)
  process.exit(exitCode)
}
