// The host's commands share the kernel, bpffs and network namespaces: run them one at a time.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
