// BPF_ENABLE_STATS: turns on the kernel's per-program run statistics for as long as a descriptor stays open.
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>Kinds of statistics BPF_ENABLE_STATS can enable (<c>enum bpf_stats_type</c>).</summary>
public enum BpfStatsType : uint
{
    /// <summary>BPF_STATS_RUN_TIME: <c>run_cnt</c> and <c>run_time_ns</c> of every program.</summary>
    RunTime = 0,
}

public static unsafe partial class Bpf
{
    /// <summary>
    /// BPF_ENABLE_STATS: the kernel counts runs and run time of every program (<see cref="BpfProgramInfo.RunCount"/>,
    /// <see cref="BpfProgramInfo.RunTimeNs"/>) while the returned handle is open. Several holders may be open at once;
    /// counting stops when the last one closes. The <c>kernel.bpf_stats_enabled</c> sysctl is not changed by this
    /// and still reads 0. Needs CAP_SYS_ADMIN.
    /// </summary>
    /// <param name="type">The statistics to enable.</param>
    public static BpfStatsHandle EnableStats(BpfStatsType type = BpfStatsType.RunTime)
    {
        bpf_enable_stats_attr attr = default;
        attr.type = (uint)type;
        var r = BpfSyscall.Invoke(BpfCommand.EnableStats, &attr, out var errno);
        if (r < 0)
        {
            ThrowHelper.ThrowBpf(BpfCommand.EnableStats, errno, errno switch
            {
                Errno.EPERM => "enabling run-time statistics needs CAP_SYS_ADMIN",
                Errno.EINVAL => $"statistics type {type} is unknown to this kernel",
                Errno.EBUSY => "statistics are being switched concurrently; retry",
                _ => $"statistics type {type}",
            });
        }

        return new BpfStatsHandle((int)r);
    }
}
