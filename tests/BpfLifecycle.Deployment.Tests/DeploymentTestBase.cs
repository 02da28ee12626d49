// Shared setup of deployment kernel tests: a veth pair with traffic, a private pin root and state
// directory, managers built on them, and cleanup that undeploys and removes everything even on failure.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Health;
using BpfLifecycle.Interop;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Deployment.Tests;

public abstract class DeploymentTestBase : KernelTestBase
{
    protected DeploymentTestBase()
    {
        KernelTest.RequireTool("ip"); // before anything is created: a constructor that fails is not followed by Dispose
        PinRoot = NewPinDirectory();
        StateRoot = NewTempDirectory();
        Net = Track(new NetworkNamespacePair());
        App = "app" + Guid.NewGuid().ToString("N")[..6];
    }

    protected string PinRoot { get; }

    protected string StateRoot { get; }

    protected string App { get; }

    protected NetworkNamespacePair Net { get; }

    protected string Hook => $"xdp:{Net.HostInterface}";

    protected DeploymentOptions Options => new() { Application = App, StateDirectory = StateRoot, BpffsRoot = PinRoot, LockTimeout = TimeSpan.FromSeconds(20) };

    protected DeploymentManager NewManager(ThresholdHealthOptions? health = null)
    {
        var m = new DeploymentManager(Options, healthEvaluator: new ThresholdHealthEvaluator(health ?? new ThresholdHealthOptions { MinimumRuns = 20 }));
        Defer(() =>
        {
            // Undeploy so no link outlives the test even when it failed half-way.
            m.UndeployAsync().GetAwaiter().GetResult();
            m.Dispose();
        });
        return m;
    }

    protected Artifact MakeArtifact(string label, ulong errorEvery = 0, long expectedVerdict = 2, string? attach = null) =>
        TestArtifacts.Create(StateRoot, label, attach ?? Hook, errorEvery, expectedVerdict);

    protected string AppPinDir => Path.Combine(PinRoot, App);

    protected ulong ReadPackets(long versionId)
    {
        using var map = Bpf.GetPinnedMap(Path.Combine(AppPinDir, "versions", versionId.ToString(System.Globalization.CultureInfo.InvariantCulture), "maps", "packets"));
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        Assert.True(Bpf.MapLookup(map, key, value));
        return BitConverter.ToUInt64(value);
    }

    protected (long Runs, long Errors) ReadStats(long versionId)
    {
        using var map = Bpf.GetPinnedMap(Path.Combine(AppPinDir, "versions", versionId.ToString(System.Globalization.CultureInfo.InvariantCulture), "maps", "bpflc_stats"));
        var cpus = Bpf.PossibleCpuCount;
        var value = new byte[32 * cpus];
        Span<byte> key = stackalloc byte[4];
        Assert.True(Bpf.MapLookup(map, key, value));
        long runs = 0, errors = 0;
        for (var c = 0; c < cpus; c++)
        {
            runs += BitConverter.ToInt64(value, c * 32);
            errors += BitConverter.ToInt64(value, c * 32 + 8);
        }

        return (runs, errors);
    }

    /// <summary>
    /// Polls <paramref name="read"/> until it returns <paramref name="expected"/> (veth delivery is asynchronous and
    /// slower under load) or two seconds pass, and returns the last value for the caller's assertion.
    /// </summary>
    protected static async Task<T> SettleAsync<T>(Func<T> read, T expected)
    {
        var value = read();
        for (var i = 0; i < 100 && !EqualityComparer<T>.Default.Equals(value, expected); i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
            value = read();
        }

        return value;
    }

    /// <summary>Sends paced packets on a background thread until disposed; <see cref="Sent"/> counts them.</summary>
    protected sealed class BackgroundTraffic : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private int _sent;

        public BackgroundTraffic(NetworkNamespacePair net)
        {
            _thread = new Thread(() =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Interlocked.Add(ref _sent, net.SendUdp(32, burst: 32));
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public int Sent => Volatile.Read(ref _sent);

        public int Stop()
        {
            _stop.Cancel();
            _thread.Join();
            return Sent;
        }

        public void Dispose()
        {
            if (!_stop.IsCancellationRequested)
            {
                Stop();
            }

            _stop.Dispose();
        }
    }

    protected sealed class Collector : IProgress<Strategies.RolloutEvent>
    {
        private readonly Action<Strategies.RolloutEvent>? _onEvent;

        public Collector(Action<Strategies.RolloutEvent>? onEvent = null) => _onEvent = onEvent;

        public List<Strategies.RolloutEvent> Events { get; } = [];

        public void Report(Strategies.RolloutEvent value)
        {
            lock (Events)
            {
                Events.Add(value);
            }

            _onEvent?.Invoke(value);
        }
    }
}
