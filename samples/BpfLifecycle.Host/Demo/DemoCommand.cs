// The `demo` command: builds a private network, attaches a real XDP program to it, drives traffic through it
// and shows what the kernel counted, then removes everything it made (unless --keep).
using BpfLifecycle.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Host.Demo;

internal sealed class DemoCommand(IOptions<DemoOptions> options, TimeProvider time, ILogger<DemoCommand> logger, TextWriter output)
{
    public async Task<int> RunAsync(bool keep, CancellationToken ct)
    {
        var settings = options.Value;
        keep |= settings.KeepRunning;
        var started = time.GetTimestamp();

        foreach (var leftover in DemoNetwork.RemoveLeftovers())
        {
            logger.LogInformation("Removed {Leftover} left by an interrupted demo", leftover);
        }

        using var network = DemoNetwork.Create();
        Say($"network: namespace {network.Namespace}, veth {network.HostInterface} <-> {network.PeerInterface} ({network.PeerAddress} -> {network.TargetAddress})");

        using var counter = XdpPacketCounter.Load();
        var info = Bpf.GetProgramInfo(counter.Program);
        Say($"loaded XDP program '{info.Name}' (kernel id {info.Id}, {info.VerifiedInstructions} instructions verified)");

        using var link = BpfAttach.Xdp(counter.Program, network.HostInterface);
        Say($"attached: link {link.Id} on {network.HostInterface}");

        await using (var traffic = new TrafficGenerator(network.OpenSender(9999), settings.PacketsPerSecond, time))
        {
            Say($"sending {settings.PacketsPerSecond} UDP datagrams/s from {network.Namespace}");
            for (var second = 1; second <= 3 || keep; second++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
                Say($"  t+{second}s  sent {traffic.Sent,6}  counted by XDP {counter.Read(),6}");
            }
        }

        var seen = counter.Read();
        link.Detach();
        Say($"detached link {link.Id}; the program saw {seen} packets");
        Say($"done in {time.GetElapsedTime(started).TotalSeconds:F1}s; removing {network.Namespace} and its veth pair");
        return seen > 0 ? ExitCodes.Success : ExitCodes.Error;
    }

    private void Say(string line) => output.WriteLine(line);
}
