// Entry point: dotnet run -c Release --project benchmarks/BpfLifecycle.Benchmarks -- --filter '*'
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(BpfLifecycle.Benchmarks.MapBenchmarks).Assembly).Run(args);
