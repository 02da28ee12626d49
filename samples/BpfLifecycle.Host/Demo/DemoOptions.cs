// Settings of the demo (configuration section "Demo"; --keep overrides KeepRunning).
namespace BpfLifecycle.Host.Demo;

internal sealed class DemoOptions
{
    /// <summary>UDP datagrams per second sent through the veth pair.</summary>
    public int PacketsPerSecond { get; set; } = 200;

    /// <summary>Leave the demo's network and programs in place until Ctrl+C.</summary>
    public bool KeepRunning { get; set; }
}
