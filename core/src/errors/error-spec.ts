/** One entry of the error registry. `message` is a template: `{name}` is replaced by params.name. */
export interface ErrorSpec {
  /** HTTP status used when the error reaches the API. */
  readonly status: number;
  /** Message template for a person: what is wrong and how to fix it. Never a secret. */
  readonly message: string;
}
