/**
 * Prints the run's totals as one plain line (`tests: N passed, N failed, N skipped`) after jest's
 * own summary, a form CI reads whatever the test runner.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    // After jest's own summary, which its reporters print on this same tick.
    process.once('exit', () => {
      process.stdout.write(
        `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
      );
    });
  }
}

module.exports = SummaryReporter;
