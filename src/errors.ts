// A user error: bad input or a missing file. The CLI prints its message as one line, without a stack trace,
// and exits with `exitCode` (2 unless a command says otherwise). Messages name the file, variable or field.
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}
