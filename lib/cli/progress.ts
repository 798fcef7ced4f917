/** A progress line on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly total: number,
    private readonly label: string,
  ) {}

  update(done: number, detail = ''): void {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(fraction * width);
      process.stderr.write(
        `\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${detail}\x1b[K`,
      );
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(
        `${this.label}: ${(fraction * 100).toFixed(0)}% ${done}/${this.total} ${detail}\n`,
      );
    }
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
