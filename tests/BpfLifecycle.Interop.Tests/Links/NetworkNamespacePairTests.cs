// The namespace fixture itself: it creates what it promises, carries only the traffic a test sends, and removes all of it.
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed class NetworkNamespacePairTests : KernelTestBase
{
    [Fact]
    public async Task Pair_exists_while_alive_and_is_gone_after_dispose()
    {
        var ct = TestContext.Current.CancellationToken;
        string ns, host;
        using (var net = new NetworkNamespacePair())
        {
            (ns, host) = (net.Namespace, net.HostInterface);
            Assert.True(net.HostInterface.Length <= 15 && net.PeerInterface.Length <= 15);
            Assert.Equal(net.HostIfIndex, NetworkInterfaces.IndexOf(host));
            Assert.Equal(host, NetworkInterfaces.NameOf(net.HostIfIndex));
            Assert.True(net.IfIndexInNamespace(net.PeerInterface) > 0);
            Assert.Throws<InvalidOperationException>(() => net.IfIndexInNamespace("blnosuch0"));
            var (_, list) = await Tool.RunAsync("ip", ["netns", "list"], ct);
            Assert.Contains(ns, list, StringComparison.Ordinal);
            var (_, addr) = await Tool.RunAsync("ip", ["-n", ns, "-4", "addr", "show", "dev", net.PeerInterface], ct);
            Assert.Contains(net.PeerAddress.ToString() + "/30", addr, StringComparison.Ordinal);
            using var receiver = net.BindHostUdp(40125);
            await net.SendUdpAsync(5, 40125, cancellationToken: ct);
            Assert.Equal(5, await NetworkNamespacePair.DrainAsync(receiver, TimeSpan.FromSeconds(2), 5, ct));
        }

        var (_, after) = await Tool.RunAsync("ip", ["netns", "list"], ct);
        Assert.DoesNotContain(ns, after, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => NetworkInterfaces.IndexOf(host));
    }

    [Fact]
    public async Task Synchronous_sends_at_a_high_rate_are_the_only_packets_on_the_host_end()
    {
        var ct = TestContext.Current.CancellationToken;
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var everyPacket = counters.LoadCounter(BpfProgramType.Xdp, 0, 2); // XDP_PASS
        using var link = BpfAttach.Xdp(everyPacket, net.HostIfIndex);

        Assert.Equal(20_000, net.SendUdp(20_000));

        // Static neighbours and no IPv6: no ARP, router solicitation or MLD packet joins the datagrams, and none is dropped.
        Assert.Equal(20_000UL, await counters.WaitForAsync(0, 20_000));
        await Task.Delay(100, ct);
        Assert.Equal(20_000UL, counters[0]);
        var (_, neighbours) = await Tool.RunAsync("ip", ["neigh", "show", "dev", net.HostInterface], ct);
        Assert.Contains($"{net.PeerAddress} lladdr", neighbours, StringComparison.Ordinal);
        Assert.Contains("PERMANENT", neighbours, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Asynchronous_sending_stops_when_cancelled()
    {
        using var net = new NetworkNamespacePair();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var sending = net.SendUdpAsync(1_000_000, NetworkNamespacePair.DiscardPort, burst: 10, pauseMs: 5, cancellationToken: cts.Token);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(sending.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
    }
}
