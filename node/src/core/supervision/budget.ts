/**
 * The supervisor's promise, in numbers: how long a node's containers may
 * outlive its minga process. Every node's singleton fence is computed from
 * it (core/timing.ts), so it is a promise between nodes, not a setting of
 * one: a node whose supervisor took longer would run a singleton beside its
 * new copy. docs/ARCHITECTURE.md ("One copy means one copy") gives the
 * arithmetic; `npm run bench -- supervisor` measures it.
 *
 * All figures are milliseconds.
 */

export interface SupervisorBudget {
  /** the daemon's death → its supervisor knows: the kernel closes the bond at once, this covers a late event-loop turn on a loaded host */
  detectMs: number
  /** how long the supervisor waits for a new daemon of the same node to attach and adopt the containers (a quick restart) */
  attachGraceMs: number
  /** each container's stop signal → SIGKILL, as `docker stop -t` */
  stopGraceMs: number
  /** after the stop grace: for the engine to confirm, else for the supervisor to kill the processes itself */
  killMarginMs: number
  /** a daemon attached but silent this long (no ping: hung, stopped with SIGSTOP) counts as gone, without the attach grace */
  hangMs: number
  /** the daemon pings its supervisor this often */
  pingMs: number
}

export const DEFAULT_SUPERVISOR_BUDGET: Readonly<SupervisorBudget> = Object.freeze({
  detectMs: 500,
  attachGraceMs: 3000,
  stopGraceMs: 8000,
  killMarginMs: 2000,
  hangMs: 6000,
  pingMs: 1000
})

/**
 * From the daemon's death to the last of its containers stopped, at most:
 * detect + attach grace + stop grace + kill margin (13.5 s by default)
 */
export function supervisorBoundMs (budget: SupervisorBudget = DEFAULT_SUPERVISOR_BUDGET): number {
  return budget.detectMs + budget.attachGraceMs + budget.stopGraceMs + budget.killMarginMs
}

/**
 * From the daemon's last ping to the last of its containers stopped when it
 * hangs (still attached, silent): hang + stop grace + kill margin (16 s)
 */
export function hangBoundMs (budget: SupervisorBudget = DEFAULT_SUPERVISOR_BUDGET): number {
  return budget.hangMs + budget.stopGraceMs + budget.killMarginMs
}
