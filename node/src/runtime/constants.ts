/** how long one engine call (inspect, create, list…) may take before the engine counts as not answering */
export const CALL_TIMEOUT_MS = 15_000
/** how long pulling an image may take */
export const PULL_TIMEOUT_MS = 5 * 60_000
/** SIGTERM, then this long, then SIGKILL */
export const STOP_GRACE_MS = 10_000
/** the Docker socket when neither the caller nor DOCKER_HOST names one */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'
/** a Docker log frame larger than this is a corrupt stream, not a log line */
export const MAX_LOG_FRAME_BYTES = 1024 * 1024
/** a JSON line (event, pull progress) longer than this is dropped */
export const MAX_JSON_LINE_BYTES = 1024 * 1024
/**
 * The share of a container's create + start that its start alone takes (`docker start` of a created
 * container, the image present): the memory runtime models a warm standby's start with it. Measured through
 * the Docker runtime on Debian's docker.io 20.10 (`npm run bench -- standby-start`, 2026-11-30, 2 cores at a
 * load average of 12–26): create + start p50 507 ms, start alone 319 ms (0.63); a second run at load 9 gave
 * 471 and 310 ms (0.66)
 */
export const STANDBY_START_SHARE = 0.63
/** log lines the memory runtime keeps per container */
export const MEMORY_LOG_LINES = 10_000
/** rotate container logs on disk so a chatty service cannot fill the node */
export const DOCKER_LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } }
