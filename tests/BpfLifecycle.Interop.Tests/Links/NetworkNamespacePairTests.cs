// The namespace fixture itself: it creates what it promises and removes all of it.
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
}
