// Crash-test host: runs one deployment and, when the event named by BPFLC_HANG_ON occurs (e.g.
// "JournalWritten:Observing" or "TrafficSwitched"), prints "HANG <event>" and blocks so the test can kill
// the process at exactly that step. Without BPFLC_HANG_ON it deploys to the end and prints the outcome.
// Arguments: <state dir> <bpffs root> <application> <artifact dir> <immediate|blue-green|canary> [lock timeout seconds]
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Strategies;

if (args.Length < 5)
{
    Console.Error.WriteLine("usage: <state dir> <bpffs root> <application> <artifact dir> <immediate|blue-green|canary> [lock timeout s]");
    return 2;
}

var hangOn = Environment.GetEnvironmentVariable("BPFLC_HANG_ON");
var options = new DeploymentOptions
{
    StateDirectory = args[0],
    BpffsRoot = args[1],
    Application = args[2],
    LockTimeout = TimeSpan.FromSeconds(args.Length > 5 ? double.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 30),
};
var strategy = args[4] switch
{
    "immediate" => RolloutStrategy.Immediate(),
    "blue-green" => RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromMilliseconds(300) }),
    "canary" => RolloutStrategy.Canary(new() { StepsBasisPoints = [1_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(150) }),
    _ => throw new ArgumentException($"unknown strategy '{args[4]}'"),
};

using var manager = new DeploymentManager(options);
var progress = new HangingProgress(hangOn);
var outcome = await manager.DeployAsync(Artifact.Load(args[3]), new DeploymentRequest { Strategy = strategy }, progress);
Console.WriteLine($"OUTCOME {outcome.Result} {outcome.Version?.Id} {outcome.Reason}");
return 0;

internal sealed class HangingProgress(string? hangOn) : IProgress<RolloutEvent>
{
    public void Report(RolloutEvent value)
    {
        var name = value.Phase is { } p ? $"{value.Kind}:{p}" : value.Kind.ToString();
        // Stopwatch ticks come from CLOCK_MONOTONIC, so two processes' events can be ordered.
        Console.WriteLine($"EVENT {System.Diagnostics.Stopwatch.GetTimestamp()} {name} {value.Message}");
        if (hangOn is not null && string.Equals(name, hangOn, StringComparison.Ordinal))
        {
            Console.WriteLine($"HANG {name}");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
