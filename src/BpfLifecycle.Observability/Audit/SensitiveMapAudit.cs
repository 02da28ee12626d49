// Writes every access to a sealed (sensitive) map to the audit log, with the entry's key hashed.
using BpfLifecycle.Maps.Sealed;

namespace BpfLifecycle.Observability.Audit;

/// <summary>Connects sealed maps to the audit log.</summary>
public static class SensitiveMapAudit
{
    /// <summary>
    /// Records each read, write and delete of <paramref name="map"/>: map name, hashed key, whether it was found,
    /// and failures to open. Dispose the result to stop.
    /// </summary>
    public static IDisposable Attach(SealedMap map, IAuditLog audit, string? program = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(audit);
        void Handler(SealedMapAccess access)
        {
            var details = new Dictionary<string, string?>
            {
                ["operation"] = access.Kind.ToString(),
                ["found"] = access.Found ? "true" : "false",
            };
            if (access.Error is not null)
            {
                details["error"] = access.Error;
            }

            audit.Append(new AuditEvent(access.Kind == SealedMapAccessKind.Read ? AuditAction.SensitiveMapRead : AuditAction.SensitiveMapWrite, access.Error is null ? AuditOutcome.Success : AuditOutcome.Failure)
            {
                Program = program,
                Map = access.MapName,
                Details = details,
                Sensitive = new Dictionary<string, ReadOnlyMemory<byte>> { ["key"] = access.Key },
            });
        }

        map.Accessed += Handler;
        return new Subscription(() => map.Accessed -= Handler);
    }

    private sealed class Subscription(Action undo) : IDisposable
    {
        private Action? _undo = undo;

        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }
}
