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
/** log lines the memory runtime keeps per container */
export const MEMORY_LOG_LINES = 10_000
/** rotate container logs on disk so a chatty service cannot fill the node */
export const DOCKER_LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } }
