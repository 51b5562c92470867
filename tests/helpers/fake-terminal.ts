import { Writable } from 'node:stream';

/**
 * A terminal of 100 columns that applies what it receives the way a VT100 does (the cursor
 * moves, line and screen clears that cli-progress sends through `readline`), so a test reads
 * the screen a person would see.
 */
export class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 100;
  readonly rows = 40;
  private screen: string[] = [''];
  private row = 0;
  private col = 0;
  private saved = { row: 0, col: 0 };

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.apply(chunk.toString());
    done();
  }

  /** The screen's lines, without trailing blanks. */
  visible(): string[] {
    const lines = this.screen.map((line) => line.trimEnd());
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  private line(): string {
    while (this.screen.length <= this.row) this.screen.push('');
    return this.screen[this.row] ?? '';
  }

  private setLine(text: string): void {
    this.line();
    this.screen[this.row] = text;
  }

  private apply(text: string): void {
    // eslint-disable-next-line no-control-regex -- escape sequences are what a terminal reads
    const pattern = /\x1B\[([?\d;]*)([A-Za-z])|\x1B([78])|\n|\r|[^\x1B\n\r]+/gu;
    for (const match of text.matchAll(pattern)) {
      const [token, params = '', command, saveRestore] = match;
      if (token === '\n') {
        this.row++;
        this.col = 0;
      } else if (token === '\r') {
        this.col = 0;
      } else if (saveRestore === '7') {
        this.saved = { row: this.row, col: this.col };
      } else if (saveRestore === '8') {
        ({ row: this.row, col: this.col } = this.saved);
      } else if (command !== undefined) {
        this.control(params, command);
      } else {
        const line = this.line().padEnd(this.col);
        this.setLine(line.slice(0, this.col) + token + line.slice(this.col + token.length));
        this.col += token.length;
      }
    }
  }

  private control(params: string, command: string): void {
    if (params.startsWith('?')) return; // cursor visibility and line wrapping
    const n = params === '' ? 1 : Number(params);
    switch (command) {
      case 'A':
        this.row = Math.max(0, this.row - n);
        return;
      case 'B':
        this.row += n;
        return;
      case 'C':
        this.col += n;
        return;
      case 'D':
        this.col = Math.max(0, this.col - n);
        return;
      case 'G':
        this.col = n - 1;
        return;
      case 'K': {
        const line = this.line();
        const mode = params === '' ? 0 : n;
        if (mode === 0) this.setLine(line.slice(0, this.col));
        else if (mode === 1) this.setLine(' '.repeat(this.col) + line.slice(this.col));
        else this.setLine('');
        return;
      }
      case 'J':
        this.setLine(this.line().slice(0, this.col));
        this.screen.length = this.row + 1;
        return;
      default:
        throw new Error(`the fake terminal does not know ESC[${params}${command}`);
    }
  }
}
