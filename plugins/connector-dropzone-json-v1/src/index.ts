export { default } from './connector.js';
