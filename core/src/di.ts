// tsyringe throws when it is imported before a Reflect metadata polyfill is loaded, so whichever
// module happens to be imported first (a test file, a library user's entry) would decide whether
// erpc starts. Every module takes tsyringe from here, which loads the polyfill first.
import 'reflect-metadata';

export { container, inject, injectable, instanceCachingFactory, Lifecycle } from 'tsyringe';
export type { DependencyContainer, InjectionToken } from 'tsyringe';
