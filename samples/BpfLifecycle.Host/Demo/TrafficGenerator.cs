// Sends a steady stream of UDP datagrams from the demo namespace towards the attached program.
using System.Net.Sockets;

namespace BpfLifecycle.Host.Demo;

/// <summary>Background UDP sender at a fixed rate; stops when disposed.</summary>
internal sealed class TrafficGenerator : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _sent;

    public TrafficGenerator(Socket socket, int packetsPerSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(packetsPerSecond, 1);
        _loop = RunAsync(socket, packetsPerSecond, time, _stop.Token);
    }

    public long Sent => Interlocked.Read(ref _sent);

    private async Task RunAsync(Socket socket, int rate, TimeProvider time, CancellationToken ct)
    {
        var payload = "bpflifecycle demo packet"u8.ToArray();
        // Send in 10 ms batches: steady enough for rates, cheap enough for two cores.
        var perTick = Math.Max(1, rate / 100);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10), time);
        using (socket)
        {
            try
            {
                while (await timer.WaitForNextTickAsync(ct))
                {
                    for (var i = 0; i < perTick; i++)
                    {
                        await socket.SendAsync(payload, SocketFlags.None, ct);
                        Interlocked.Increment(ref _sent);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
