// lifecycle_xdp attached with an XDP link to a veth that real UDP packets arrive on: the kernel's and the program's
// counters agree, and each log record carries the ingress ifindex and the version id.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using BpfLifecycle.Observability.Monitoring;
using BpfLifecycle.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class XdpTrafficKernelTests : KernelTestBase
{
    [Fact]
    public async Task Real_packets_on_a_veth_are_counted_by_kernel_and_program_and_logged_with_the_ingress_ifindex()
    {
        var ct = TestContext.Current.CancellationToken;
        var pair = Track(new NetworkNamespacePair());
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        var time = new FakeTimeProvider();
        using var monitor = new BpfMonitor(new ObservabilityOptions(), new BpfLifecycleMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), time, loggerFactory);
        monitor.EnableKernelStats();

        using var prog = new ReferenceProgram(versionId: 55);
        prog.SetConfig("log_sample_percent", 100);
        using var link = BpfAttach.Xdp(prog.Program, pair.HostIfIndex);
        var id = new ProgramIdentity("obs-test", "lifecycle_xdp", "55", "xdp/" + pair.HostInterface);
        using var registration = monitor.Register(new MonitoredProgram { Identity = id, VersionId = 55, Program = prog.Program, StatsMap = prog.Stats, LogRing = prog.Logs });

        using var socket = pair.BindHostUdp(40_000 + Random.Shared.Next(10_000));
        var port = ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
        await pair.SendUdpAsync(200, port, cancellationToken: ct);
        Assert.Equal(200, await NetworkNamespacePair.DrainAsync(socket, TimeSpan.FromSeconds(2), 200, ct)); // XDP_PASS: all delivered

        time.Advance(TimeSpan.FromSeconds(10));
        var obs = Assert.Single(monitor.Poll());
        var forwarded = monitor.DrainLogs(int.MaxValue);
        // Every packet on the device ran the program, and the pair's static neighbours leave no ARP exchange: the 200 datagrams.
        Assert.Equal(200ul, obs.Version.runs);
        Assert.InRange(obs.Kernel.RunCount, obs.Version.runs, obs.Version.runs + 2);
        Assert.Equal(0ul, obs.Version.errors);
        Assert.Equal((long)obs.Version.runs, forwarded + (long)obs.Version.lost_logs);
        var records = logs.GetSnapshot().Where(r => r.Category == BpfMonitor.LogCategory).ToList();
        Assert.Equal(forwarded, records.Count);
        var ifindex = pair.HostIfIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(records, r =>
        {
            Assert.Equal(ifindex, r.GetStructuredStateValue("bpf.meta1"));
            Assert.Equal("55", r.GetStructuredStateValue("bpf.version_id"));
            Assert.Equal(id.AttachPoint, r.GetStructuredStateValue("bpf.attach_point"));
        });
    }
}
