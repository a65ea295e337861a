export { startScheduler, DEFAULT_SCHEDULER_NAME } from './scheduler';
export type { Scheduler, SchedulerOptions } from './scheduler';
export { schedulePod, fitErrorMessage } from './schedule';
