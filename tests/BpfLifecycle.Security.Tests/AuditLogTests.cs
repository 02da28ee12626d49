// The hash-chained audit log: entries as written, sensitive data hashed, and detection of edits, insertions and removals.
using System.Text;
using BpfLifecycle.Observability.Audit;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Security.Tests;

public sealed class AuditLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bpflc-sec-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteLog(int count, out string head)
    {
        var path = Path.Combine(_dir, $"audit-{Guid.NewGuid():N}.jsonl");
        using var log = new FileAuditLog(new FileAuditLogOptions { Path = path }, _time);
        for (var i = 0; i < count; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            log.Append(new AuditEvent(i % 2 == 0 ? AuditAction.Load : AuditAction.Attach, AuditOutcome.Success)
            {
                Program = "lifecycle_xdp",
                Version = $"1.0.{i}",
                ArtifactSha256 = new string('a', 64),
                AttachPoints = ["xdp:veth0"],
            });
        }

        head = log.Head;
        return path;
    }

    [Fact]
    public void Entries_carry_when_who_what_and_outcome_and_chain_by_hash()
    {
        var path = WriteLog(3, out var head);
        var entries = AuditLogVerifier.ReadAll(path);

        Assert.Equal([1L, 2L, 3L], entries.Select(e => e.Sequence));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 8, 0, 1, TimeSpan.Zero), entries[0].Time);
        Assert.Equal(Environment.ProcessId, entries[0].Actor.Pid);
        Assert.Equal(0u, entries[0].Actor.Uid);
        Assert.False(string.IsNullOrEmpty(entries[0].Actor.Process));
        Assert.Equal("1.0.1", entries[1].Version);
        Assert.Equal(["xdp:veth0"], entries[1].AttachPoints);
        Assert.Equal(AuditAction.Attach, entries[1].Action);
        Assert.Equal(FileAuditLog.GenesisHash, entries[0].PreviousHash);
        Assert.Equal(entries[0].Hash, entries[1].PreviousHash);
        Assert.Equal(entries[1].Hash, entries[2].PreviousHash);
        Assert.Equal(head, entries[2].Hash);
        var result = AuditLogVerifier.Verify(path, head, 3);
        Assert.True(result.IsValid, result.Problem);

        // Each line is plain JSON with the hash last.
        var line = File.ReadLines(path).First();
        Assert.StartsWith("{\"seq\":1,\"time\":\"2026-11-26T08:00:01.0000000Z\",\"action\":\"Load\",\"outcome\":\"Success\",\"actor\":{\"uid\":0,", line, StringComparison.Ordinal);
        Assert.EndsWith($",\"hash\":\"{entries[0].Hash}\"}}", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Reopening_continues_the_chain()
    {
        var path = WriteLog(2, out _);
        using (var log = new FileAuditLog(new FileAuditLogOptions { Path = path }, _time))
        {
            Assert.Equal(2, log.Count);
            var e = log.Append(new AuditEvent(AuditAction.Unload, AuditOutcome.Success) { Program = "p" });
            Assert.Equal(3, e.Sequence);
        }

        Assert.True(AuditLogVerifier.Verify(path).IsValid);
        Assert.Equal(3, AuditLogVerifier.Verify(path).EntryCount);
    }

    [Fact]
    public void Every_single_byte_edit_is_detected()
    {
        var path = WriteLog(4, out var head);
        var original = File.ReadAllBytes(path);
        var detected = 0;
        for (var i = 0; i < original.Length; i++)
        {
            var copy = original.ToArray();
            copy[i] = copy[i] == (byte)'x' ? (byte)'y' : (byte)'x';
            File.WriteAllBytes(path, copy);
            var r = AuditLogVerifier.Verify(path, head, 4);
            Assert.False(r.IsValid, $"edit at byte {i} was not detected");
            detected++;
        }

        Assert.Equal(original.Length, detected);
    }

    [Fact]
    public void Insertion_removal_reordering_and_tail_truncation_are_detected()
    {
        var path = WriteLog(5, out var head);
        var lines = File.ReadAllLines(path);
        var otherPath = WriteLog(5, out _);
        var foreign = File.ReadAllLines(otherPath);

        void Check(string label, string[] mutated, string expected, long? expectedLine)
        {
            File.WriteAllText(path, string.Join('\n', mutated) + "\n");
            var r = AuditLogVerifier.Verify(path, head, 5);
            Assert.False(r.IsValid, label);
            Assert.True(r.Problem!.Contains(expected, StringComparison.Ordinal), $"{label}: {r.Problem}");
            Assert.Equal(expectedLine, r.FailedLine);
        }

        Check("removal in the middle", [lines[0], lines[1], lines[3], lines[4]], "inserted or removed", 3);
        Check("removal of the first", lines[1..], "inserted or removed", 1);
        Check("insertion of a valid line from another log", [lines[0], lines[1], foreign[2], lines[2], lines[3], lines[4]], "inserted or removed", 3);
        Check("duplication", [lines[0], lines[1], lines[1], lines[2], lines[3], lines[4]], "inserted or removed", 3);
        Check("swap", [lines[0], lines[2], lines[1], lines[3], lines[4]], "inserted or removed", 2);
        Check("tail truncation", lines[..4], "anchor says 5", null);
        Check("tail replaced", [.. lines[..4], foreign[4]], "inserted or removed", 5);

        File.WriteAllText(path, string.Join('\n', lines) + "\n" + lines[4][..40]);
        var partial = AuditLogVerifier.Verify(path);
        Assert.False(partial.IsValid);
        Assert.Contains("incomplete", partial.Problem, StringComparison.Ordinal);
        var reopen = Assert.Throws<AuditLogTamperedException>(() => new FileAuditLog(new FileAuditLogOptions { Path = path }));
        Assert.Contains("incomplete", reopen.Message, StringComparison.Ordinal);

        File.WriteAllText(path, string.Join('\n', lines[..4]) + "\n" + lines[4].Replace("Attach", "Unload", StringComparison.Ordinal).Replace("Load", "Unload", StringComparison.Ordinal) + "\n");
        var edited = Assert.Throws<AuditLogTamperedException>(() => new FileAuditLog(new FileAuditLogOptions { Path = path }));
        Assert.Contains("the entry was edited", edited.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sensitive_data_is_hashed_never_written_and_details_are_redacted()
    {
        var path = Path.Combine(_dir, "audit.jsonl");
        var secret = Encoding.UTF8.GetBytes("hunter2-stashed-credential");
        var key = Encoding.UTF8.GetBytes("user:alice");
        using (var log = new FileAuditLog(new FileAuditLogOptions { Path = path, SensitiveHashKey = [1, 2, 3, 4] }, _time))
        {
            log.Append(new AuditEvent(AuditAction.SensitiveMapRead, AuditOutcome.Success)
            {
                Map = "credentials",
                Sensitive = new Dictionary<string, ReadOnlyMemory<byte>> { ["key"] = key, ["value"] = secret },
                Details = new Dictionary<string, string?> { ["commandLine"] = "tool --password hunter2 --verbose", ["cwd"] = "/home/alice/src" },
            });
        }

        var text = File.ReadAllText(path);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", text, StringComparison.Ordinal);
        var entry = Assert.Single(AuditLogVerifier.ReadAll(path));
        Assert.Equal(SensitiveData.Hash(secret, [1, 2, 3, 4]), entry.Sensitive["value"]);
        Assert.StartsWith("hmac-sha256:", entry.Sensitive["key"], StringComparison.Ordinal);
        Assert.Equal("tool --password *** --verbose", entry.Details["commandLine"]);
        Assert.Equal("/home/***/src", entry.Details["cwd"]);
        Assert.StartsWith("sha256:", SensitiveData.Hash(secret), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_appends_keep_one_valid_chain()
    {
        var path = Path.Combine(_dir, "concurrent.jsonl");
        using (var log = new FileAuditLog(new FileAuditLogOptions { Path = path, FlushToDisk = false }, _time))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
            {
                for (var i = 0; i < 50; i++)
                {
                    await log.AppendAsync(new AuditEvent(AuditAction.ConfigChange, AuditOutcome.Success) { Program = $"t{t}" }, TestContext.Current.CancellationToken);
                }
            }, TestContext.Current.CancellationToken)));
        }

        var r = AuditLogVerifier.Verify(path);
        Assert.True(r.IsValid, r.Problem);
        Assert.Equal(400, r.EntryCount);
    }
}
