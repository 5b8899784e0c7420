/**
 * @packageDocumentation
 *
 * Docker Compose → minga. A Compose file is a project: its services become
 * minga services named `<project>-<service>`, validated exactly as a minga
 * spec file is, with every problem reported at the Compose field the user
 * wrote. Variables are interpolated as the Compose specification says, YAML
 * merge keys work, files of the project folder travel with their services
 * (config files), Compose secrets become minga secrets given as files. What
 * minga cannot honour (a host path, host networking, a
 * `build:` field its builds do not take) is an error that says what to do; what it ignores is a
 * warning that says what happens instead.
 *
 * @example
 * ```ts
 * const project = loadComposeProject('compose.yaml', { org: 'acme', project: 'shop' })
 * for (const warning of project.warnings) console.warn(warning)
 * // project.builds (to build first), project.specs, project.secrets (to set), project.configs (chunks to store)
 * ```
 */
export { parseComposeFile, type ComposeOptions, type ComposeProject } from './translate.js'
export { loadComposeProject, ComposeFileError, type LoadOptions } from './load.js'
export { isComposeFileName, looksLikeCompose } from './detect.js'
export { interpolate, InterpolationError, type Lookup } from './interpolate.js'
export { parseEnvFile, EnvFileError } from './dotenv.js'
export type { ComposeBuild } from './build.js'
