// Kernel tests check per-test descriptor leaks, so tests in this assembly run one at a time.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
