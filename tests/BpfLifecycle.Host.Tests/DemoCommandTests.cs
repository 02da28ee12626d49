// `bpflc demo` end to end in a child process: real namespace, veth pair, XDP attach and traffic, then no leftovers.
using System.Text.RegularExpressions;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Host.Tests;

public sealed partial class DemoCommandTests : KernelTestBase
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Demo_counts_real_traffic_and_removes_its_network()
    {
        KernelTest.RequireTool("ip");
        using var demo = await HostProcess.RunAsync(Timeout, "demo");

        Assert.True(demo.ExitCode == 0, demo.ToString());
        var (ns, veth) = NetworkOf(demo);
        Assert.Contains("result: v1 deployed, v2 promoted by canary, faulty v3 rolled back by itself; v2 serves.", demo.StandardOutput, StringComparison.Ordinal);
        // v2 is a different program from v1: after its promotion the demo shows the counter only v2 has.
        Assert.Matches(@"v2's new counter 'protocols' \(.*\): (.*, )?udp [1-9]\d*.*; 'packets' \(all versions, carried over from v1\): [1-9]\d*", demo.StandardOutput);
        Assert.Matches(@"v3\s+ROLLBACK\s+canary at \d+% unhealthy: .*error rate", demo.StandardOutput);
        var seconds = double.Parse(DoneRegex().Match(demo.StandardOutput).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seconds < 120, $"the demo took {seconds}s");
        AssertRemoved(ns, veth);
    }

    [Theory]
    [InlineData(15)] // SIGTERM, as systemd stops a service
    [InlineData(2)]  // SIGINT, as Ctrl+C
    public async Task Interrupted_demo_cleans_up_and_exits_130(int signal)
    {
        KernelTest.RequireTool("ip");
        var port = Random.Shared.Next(30_000, 40_000);
        using var demo = HostProcess.Start("demo", "--keep", "--metrics", $"127.0.0.1:{port}");
        await demo.WaitForOutputAsync("canary share 10% to version 2", Timeout);
        var (ns, veth) = NetworkOf(demo);
        Assert.True(Directory.Exists($"/sys/class/net/{veth}"), $"{veth} should exist while the demo runs");
        // A second demo starting meanwhile removes only leftovers of dead demos, never this running one's network.
        using (var other = await HostProcess.RunAsync(Timeout, "demo", "--artifacts", "/nonexistent-bpflc-artifacts"))
        {
            Assert.NotEqual(0, other.ExitCode);
            AssertRemoved(NetworkOf(other).Namespace, NetworkOf(other).Veth);
        }

        Assert.True(Directory.Exists($"/sys/class/net/{veth}"), $"{veth} of the running demo was removed by another demo");
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
        {
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);
            Assert.Contains("target_info", metrics, StringComparison.Ordinal);
        }

        demo.Signal(signal);
        await demo.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(demo.ExitCode == 130, demo.ToString());
        AssertRemoved(ns, veth);
    }

    [Fact]
    public async Task Invalid_application_name_is_a_usage_error_that_names_it()
    {
        using var run = await HostProcess.RunAsync(Timeout, "--app", "../etc", "demo");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("Application name '../etc' is invalid", run.StandardError, StringComparison.Ordinal);
    }

    private static (string Namespace, string Veth) NetworkOf(HostProcess demo)
    {
        var m = NetworkRegex().Match(demo.StandardOutput);
        Assert.True(m.Success, demo.ToString());
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    private static void AssertRemoved(string ns, string veth)
    {
        Assert.False(Directory.Exists($"/sys/fs/bpf/bpflifecycle/demo-{ns["bpflc-demo-".Length..]}"), "the demo's pins were left behind");
        Assert.False(File.Exists($"/run/netns/{ns}"), $"namespace {ns} was left behind");
        Assert.False(Directory.Exists($"/sys/class/net/{veth}"), $"interface {veth} was left behind");
        Assert.False(File.Exists($"/run/bpflc-demo/{ns["bpflc-demo-".Length..]}.lock"), $"the owner lock of {ns} was left behind");
    }

    [GeneratedRegex(@"namespace (bpflc-demo-[0-9a-f]+), veth (bld[0-9a-f]+h)")]
    private static partial Regex NetworkRegex();

    [GeneratedRegex(@"done in ([0-9.]+)s")]
    private static partial Regex DoneRegex();
}
