/**
 * What every route plugin receives: a way to resolve the services it calls. `buildApp` passes the
 * container's `resolve`; routes never touch tsyringe themselves.
 */
export interface RouteDeps {
  resolve<T>(token: symbol): T;
}
