export { startControllers, ALL_CONTROLLERS } from './manager';
export type { ControllerManager, ControllerManagerOptions, ControllerName } from './manager';
