// Cleans up an application's pinned programs whose kernel run count has not moved for a configured time.
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Audit;

namespace BpfLifecycle.Deployment.Budgets;

/// <summary>When a program counts as idle.</summary>
public sealed class IdleProgramOptions
{
    /// <summary>A program whose run count has not changed for this long is idle. Default 1 hour.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>A program found idle.</summary>
/// <param name="PinPath">Its pin.</param>
/// <param name="Info">What the kernel reported at the last scan.</param>
/// <param name="LastRunAt">When its run count last moved (or when it was first seen).</param>
public sealed record IdleProgram(string PinPath, BpfProgramInfo Info, DateTimeOffset LastRunAt);

/// <summary>
/// Watches the run counts of the programs pinned under an application's directory and cleans up those that have
/// not run for <see cref="IdleProgramOptions.IdleAfter"/>. Run counts only move while the kernel's run-time statistics
/// are on; the reaper turns them on for as long as it lives when it may (CAP_SYS_ADMIN), and does nothing without them.
/// The default clean-up unpins the program; pass another to also detach links or retire the version in a registry.
/// </summary>
public sealed class IdleProgramReaper : IDisposable
{
    private readonly PinnedResourceInventory _inventory;
    private readonly IdleProgramOptions _options;
    private readonly TimeProvider _time;
    private readonly IAuditLog? _audit;
    private readonly Func<IdleProgram, CancellationToken, ValueTask> _cleanup;
    private readonly Dictionary<uint, (ulong RunCount, DateTimeOffset Since)> _seen = new();
    private readonly Lock _lock = new();
    private readonly BpfStatsHandle? _stats;

    /// <summary>Creates the reaper.</summary>
    public IdleProgramReaper(PinnedResourceInventory inventory, IdleProgramOptions? options = null, TimeProvider? timeProvider = null, IAuditLog? audit = null, Func<IdleProgram, CancellationToken, ValueTask>? cleanup = null)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        _inventory = inventory;
        _options = options ?? new IdleProgramOptions();
        if (_options.IdleAfter <= TimeSpan.Zero)
        {
            throw new ArgumentException($"IdleProgramOptions.IdleAfter must be positive (is {_options.IdleAfter}).", nameof(options));
        }

        _time = timeProvider ?? TimeProvider.System;
        _audit = audit;
        _cleanup = cleanup ?? UnpinAsync;
        if (Capabilities.Required(BpfOperation.EnableStats).IsSatisfiedBy(Capabilities.Current().Effective))
        {
            _stats = Bpf.EnableStats(BpfStatsType.RunTime);
        }
    }

    /// <summary>True when run-time statistics are on (held by this reaper), so run counts can move.</summary>
    public bool StatisticsEnabled => _stats is not null;

    /// <summary>Updates run counts and returns the programs idle now (without cleaning them up).</summary>
    public IReadOnlyList<IdleProgram> Scan()
    {
        var now = _time.GetUtcNow();
        var idle = new List<IdleProgram>();
        var programs = _inventory.Scan().Programs;
        lock (_lock)
        {
            foreach (var p in programs)
            {
                if (!_seen.TryGetValue(p.Info.Id, out var s) || s.RunCount != p.Info.RunCount)
                {
                    _seen[p.Info.Id] = (p.Info.RunCount, now);
                    continue;
                }

                if (now - s.Since >= _options.IdleAfter)
                {
                    idle.Add(new IdleProgram(p.PinPath, p.Info, s.Since));
                }
            }

            var live = programs.Select(p => p.Info.Id).ToHashSet();
            foreach (var gone in _seen.Keys.Where(id => !live.Contains(id)).ToArray())
            {
                _seen.Remove(gone);
            }
        }

        return idle;
    }

    /// <summary>Scans and cleans up every idle program, auditing each.</summary>
    public async ValueTask<IReadOnlyList<IdleProgram>> CleanupAsync(CancellationToken cancellationToken = default)
    {
        var idle = Scan();
        foreach (var p in idle)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var details = new Dictionary<string, string?>
            {
                ["pin"] = p.PinPath,
                ["programId"] = p.Info.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["runCount"] = p.Info.RunCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["lastRunAt"] = p.LastRunAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["idleAfter"] = _options.IdleAfter.ToString(),
            };
            try
            {
                await _cleanup(p, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or BpfException or UnauthorizedAccessException)
            {
                details["error"] = e.Message;
                _audit?.Append(new AuditEvent(AuditAction.IdleCleanup, AuditOutcome.Failure) { Program = p.Info.Name, Details = details });
                throw;
            }

            lock (_lock)
            {
                _seen.Remove(p.Info.Id);
            }

            _audit?.Append(new AuditEvent(AuditAction.IdleCleanup, AuditOutcome.Success) { Program = p.Info.Name, Details = details });
        }

        return idle;
    }

    /// <inheritdoc />
    public void Dispose() => _stats?.Dispose();

    private static ValueTask UnpinAsync(IdleProgram program, CancellationToken cancellationToken)
    {
        File.Delete(program.PinPath);
        return ValueTask.CompletedTask;
    }
}
