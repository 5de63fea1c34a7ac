/**
 * Undo steps run last-in first-out exactly once, whether the run ends, fails or is
 * interrupted: servers stop before their Redis keys are deleted, or they would
 * recreate some.
 */
export class Cleanup {
  private readonly steps: { label: string; step: () => Promise<unknown> }[] = [];
  private running?: Promise<void>;

  add(label: string, step: () => Promise<unknown>): void {
    this.steps.push({ label, step });
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const { label, step } of this.steps.reverse()) {
      await step().catch((error: Error) =>
        process.stderr.write(`cleanup: ${label} failed: ${error.message}\n`),
      );
    }
  }
}
