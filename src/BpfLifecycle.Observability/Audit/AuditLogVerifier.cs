// Checks an audit log's hash chain: every line's own hash, its link to the line before, and the sequence.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace BpfLifecycle.Observability.Audit;

/// <summary>The result of checking an audit log.</summary>
/// <param name="IsValid">True when every line is intact and chained.</param>
/// <param name="EntryCount">Entries read (up to the first problem).</param>
/// <param name="Head">Hash of the last valid entry.</param>
/// <param name="FailedLine">1-based line number of the first problem, or null.</param>
/// <param name="Problem">The first problem, or null.</param>
public sealed record AuditVerificationResult(bool IsValid, long EntryCount, string Head, long? FailedLine, string? Problem);

/// <summary>Verifies and reads hash-chained audit logs written by <see cref="FileAuditLog"/>.</summary>
public static class AuditLogVerifier
{
    /// <summary>
    /// Checks the whole chain. An edited line fails its own hash; an inserted or removed line breaks the
    /// <c>prev</c> link and the sequence. Removal at the end is only detectable against an anchor: pass the head
    /// (<see cref="FileAuditLog.Head"/>) and count you kept elsewhere as <paramref name="expectedHead"/> and <paramref name="expectedCount"/>.
    /// </summary>
    public static AuditVerificationResult Verify(string path, string? expectedHead = null, long? expectedCount = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var prev = FileAuditLog.GenesisHash;
        long count = 0;
        long lineNo = 0;
        var bytes = File.ReadAllBytes(path);
        var span = bytes.AsSpan();
        while (!span.IsEmpty)
        {
            lineNo++;
            var nl = span.IndexOf((byte)'\n');
            if (nl < 0)
            {
                return new(false, count, prev, lineNo, "the last line is incomplete (no newline)");
            }

            var line = span[..nl];
            span = span[(nl + 1)..];
            var entry = ParseLine(line, out var problem);
            if (entry is null)
            {
                return new(false, count, prev, lineNo, problem);
            }

            if (entry.PreviousHash != prev)
            {
                return new(false, count, prev, lineNo, $"prev {entry.PreviousHash[..12]}... does not match the previous entry's hash {prev[..12]}...: an entry was inserted or removed before this line");
            }

            if (entry.Sequence != count + 1)
            {
                return new(false, count, prev, lineNo, $"sequence {entry.Sequence} where {count + 1} was expected");
            }

            count++;
            prev = entry.Hash;
        }

        if (expectedCount is { } c && c != count)
        {
            return new(false, count, prev, null, $"the log has {count} entries but the anchor says {c}: entries were removed from the end");
        }

        if (expectedHead is not null && !string.Equals(expectedHead, prev, StringComparison.OrdinalIgnoreCase))
        {
            return new(false, count, prev, null, $"the last entry's hash {prev[..12]}... differs from the anchor {expectedHead[..Math.Min(12, expectedHead.Length)]}...: entries were removed or replaced at the end");
        }

        return new(true, count, prev, null, null);
    }

    /// <summary>Reads all entries, throwing <see cref="AuditLogTamperedException"/> at the first broken line.</summary>
    public static IReadOnlyList<AuditEntry> ReadAll(string path)
    {
        var result = Verify(path);
        if (!result.IsValid)
        {
            throw new AuditLogTamperedException(path, result.FailedLine ?? -1, result.Problem!);
        }

        var entries = new List<AuditEntry>();
        foreach (var line in File.ReadAllLines(path, Encoding.UTF8))
        {
            entries.Add(ParseLine(Encoding.UTF8.GetBytes(line), out _)!);
        }

        return entries;
    }

    internal static AuditEntry? ParseLine(ReadOnlySpan<byte> line, out string? problem)
    {
        const string prefix = ",\"hash\":\"";
        if (line.Length <= FileAuditLog.HashSuffixLength || line[^1] != (byte)'}' || line[^2] != (byte)'"')
        {
            problem = "not an audit entry (no trailing hash)";
            return null;
        }

        var suffix = line[^FileAuditLog.HashSuffixLength..];
        if (!suffix[..prefix.Length].SequenceEqual(Encoding.ASCII.GetBytes(prefix)))
        {
            problem = "not an audit entry (hash is not the last member)";
            return null;
        }

        var hash = Encoding.ASCII.GetString(suffix.Slice(prefix.Length, 64));
        var body = new byte[line.Length - FileAuditLog.HashSuffixLength + 1];
        line[..^FileAuditLog.HashSuffixLength].CopyTo(body);
        body[^1] = (byte)'}';
        var actual = Convert.ToHexStringLower(SHA256.HashData(body));
        if (actual != hash)
        {
            problem = $"content hash {actual[..12]}... does not match the recorded {hash[..Math.Min(12, hash.Length)]}...: the entry was edited";
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var r = doc.RootElement;
            var actor = r.GetProperty("actor");
            problem = null;
            return new AuditEntry
            {
                Sequence = r.GetProperty("seq").GetInt64(),
                Time = DateTimeOffset.Parse(r.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Action = Enum.Parse<AuditAction>(r.GetProperty("action").GetString()!),
                Outcome = Enum.Parse<AuditOutcome>(r.GetProperty("outcome").GetString()!),
                Actor = new AuditActor(actor.GetProperty("uid").GetUInt32(), actor.GetProperty("pid").GetInt32(), actor.GetProperty("process").GetString()!),
                Program = Optional(r, "program"),
                Version = Optional(r, "version"),
                ArtifactSha256 = Optional(r, "artifactSha256"),
                AttachPoints = r.TryGetProperty("attachPoints", out var ap) ? ap.EnumerateArray().Select(a => a.GetString()!).ToArray() : [],
                Map = Optional(r, "map"),
                Details = r.TryGetProperty("details", out var d) ? d.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.GetString(), StringComparer.Ordinal) : new Dictionary<string, string?>(),
                Sensitive = r.TryGetProperty("sensitive", out var s) ? s.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal) : new Dictionary<string, string>(),
                PreviousHash = r.GetProperty("prev").GetString()!,
                Hash = hash,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            problem = $"malformed entry: {e.Message}";
            return null;
        }
    }

    private static string? Optional(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;
}
