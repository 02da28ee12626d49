// The manager process is killed at each step of a deployment (a child process frozen at a chosen event),
// and recovery in this process must end with exactly one version serving, no leaked pins and no leaked
// programs. Two processes deploying at once must be serialized by the application lock.
using System.Diagnostics;
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Tests;

public sealed class CrashRecoveryTests : DeploymentTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string CrashHostDll => Path.Combine(AppContext.BaseDirectory, "BpfLifecycle.Deployment.CrashHost.dll");

    [Theory]
    [InlineData("blue-green", "JournalWritten:Registered", false)]
    [InlineData("blue-green", "JournalWritten:Loading", false)]
    [InlineData("blue-green", "Loaded", false)]
    [InlineData("blue-green", "JournalWritten:Switching", false)]
    [InlineData("blue-green", "TrafficSwitched", false)]
    [InlineData("blue-green", "Observed", false)]
    [InlineData("blue-green", "JournalWritten:Committing", true)]
    [InlineData("canary", "JournalWritten:Observing", false)]
    [InlineData("canary", "TrafficSwitched", false)]
    [InlineData("canary", "JournalWritten:Committing", true)]
    public async Task Killed_at_a_step_then_recovered_leaves_exactly_one_version_serving_and_nothing_leaked(string strategy, string hangOn, bool expectPromotion)
    {
        var m = NewManager();
        var first = await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        Assert.Equal(DeploymentResult.Promoted, first.Result);
        var v2 = MakeArtifact("2.0.0");

        {
            var child = StartHost(v2.Directory, strategy, hangOn);
            await WaitForLineAsync(child, "HANG ", TimeSpan.FromSeconds(60));
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync(Ct);
        }

        Assert.NotNull(m.GetStatus().PendingPhase);
        var report = await m.RecoverAsync(cancellationToken: Ct);

        var expectedActive = expectPromotion ? 2 : 1;
        var other = expectPromotion ? 1 : 2;
        Assert.Equal(expectPromotion ? RecoveryAction.Finished : RecoveryAction.Reverted, report.Action);
        var status = m.GetStatus();
        Assert.Equal(expectedActive, status.ActiveVersionId);
        Assert.Null(status.PendingPhase);
        Assert.Equal(expectPromotion ? VersionStatus.Inactive : VersionStatus.Failed, m.GetVersions().Single(v => v.Id == other).Status);

        // Exactly one version serves: all new packets run the active version and none the other.
        var before = ReadStats(expectedActive).Runs;
        var otherBefore = expectPromotion ? ReadStats(other).Runs : 0;
        var sent = Net.SendUdp(200);
        Assert.Equal(before + sent, await SettleAsync(() => ReadStats(expectedActive).Runs, before + sent));
        if (expectPromotion)
        {
            Assert.Equal(otherBefore, ReadStats(other).Runs);
        }

        // Pins: the versions that should be loaded and nothing else; the dispatcher only if a canary promoted.
        var pinned = Directory.EnumerateDirectories(Path.Combine(AppPinDir, "versions")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(expectPromotion ? ["1", "2"] : ["1"], pinned);
        var dispatcherExpected = expectPromotion && strategy == "canary";
        Assert.Equal(dispatcherExpected, Dispatcher.IsPinned(Path.Combine(AppPinDir, "dispatcher")));

        // Programs: those using the application's state map are exactly the retained versions; no stray dispatcher.
        using var packets = Bpf.GetPinnedMap(Path.Combine(AppPinDir, "versions", "1", "maps", "packets"));
        var packetsId = Bpf.GetMapInfo(packets).Id;
        await AssertEventuallyAsync(() => ProgramsUsingMap(packetsId) == (expectPromotion ? 2 : 1), () => $"{ProgramsUsingMap(packetsId)} programs use the state map");
        await AssertEventuallyAsync(() => ProgramsNamed(DispatcherName) == (dispatcherExpected ? 1 : 0), () => $"{ProgramsNamed(DispatcherName)} dispatcher programs");
    }

    [Fact]
    public async Task Killed_during_a_first_deployment_recovery_leaves_no_hook_and_no_pin()
    {
        var m = NewManager();
        {
            // A first deployment serves from attach: freeze in its observation window.
            var child = StartHost(MakeArtifact("1.0.0").Directory, "blue-green", "Observed");
            await WaitForLineAsync(child, "HANG ", TimeSpan.FromSeconds(60));
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync(Ct);
        }

        var report = await m.RecoverAsync(cancellationToken: Ct);

        Assert.Equal(RecoveryAction.Reverted, report.Action);
        Assert.False(Directory.Exists(AppPinDir));
        Assert.Empty(m.GetStatus().LinkIds);
        Assert.Equal(VersionStatus.Failed, Assert.Single(m.GetVersions()).Status);
    }

    [Fact]
    public async Task Two_processes_deploying_at_once_are_serialized()
    {
        var m = NewManager();
        Assert.Equal(DeploymentResult.Promoted, (await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct)).Result);
        var a2 = MakeArtifact("2.0.0");
        var a3 = MakeArtifact("3.0.0");

        var p2 = StartHost(a2.Directory, "blue-green", null);
        var p3 = StartHost(a3.Directory, "blue-green", null);
        var out2 = p2.StandardOutput.ReadToEndAsync(Ct);
        var out3 = p3.StandardOutput.ReadToEndAsync(Ct);
        var err2 = p2.StandardError.ReadToEndAsync(Ct);
        var err3 = p3.StandardError.ReadToEndAsync(Ct);
        await Task.WhenAll(p2.WaitForExitAsync(Ct), p3.WaitForExitAsync(Ct));
        var lines2 = (await out2).Split('\n');
        var lines3 = (await out3).Split('\n');
        Assert.True(p2.ExitCode == 0, await err2);
        Assert.True(p3.ExitCode == 0, await err3);

        Assert.Contains(lines2, l => l.StartsWith("OUTCOME Promoted", StringComparison.Ordinal));
        Assert.Contains(lines3, l => l.StartsWith("OUTCOME Promoted", StringComparison.Ordinal));
        var (s2, e2) = Span(lines2);
        var (s3, e3) = Span(lines3);
        Assert.True(e2 < s3 || e3 < s2, $"operations overlapped: [{s2}, {e2}] and [{s3}, {e3}]");
        var versions = m.GetVersions();
        Assert.Equal(3, versions.Count);
        Assert.Single(versions, v => v.Status == VersionStatus.Active);
        Assert.Equal(versions.Max(v => v.Id), m.GetStatus().ActiveVersionId);
    }

    private string DispatcherName => "bpflc_" + App[..Math.Min(App.Length, 9)];

    private static (long Start, long End) Span(string[] lines)
    {
        var ticks = lines.Where(l => l.StartsWith("EVENT ", StringComparison.Ordinal)).Select(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(ticks);
        return (ticks.Min(), ticks.Max());
    }

    private Process StartHost(string artifactDir, string strategy, string? hangOn)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { CrashHostDll, StateRoot, PinRoot, App, artifactDir, strategy, "60" })
        {
            psi.ArgumentList.Add(a);
        }

        if (hangOn is not null)
        {
            psi.Environment["BPFLC_HANG_ON"] = hangOn;
        }

        var p = Process.Start(psi)!;
        Defer(() =>
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }

            p.Dispose();
        });
        return p;
    }

    private static async Task WaitForLineAsync(Process p, string prefix, TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(timeout);
        var seen = new List<string>();
        while (true)
        {
            var line = await p.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null)
            {
                var err = await p.StandardError.ReadToEndAsync(Ct);
                Assert.Fail($"The host exited before '{prefix}'. Output: {string.Join(" | ", seen)} Error: {err}");
            }

            seen.Add(line);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return;
            }
        }
    }

    private static async Task AssertEventuallyAsync(Func<bool> condition, Func<string> describe)
    {
        // Programs whose last reference died with the killed process are freed after an RCU grace period.
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(condition(), describe());
    }

    private static int ProgramsUsingMap(uint mapId) => EnumeratePrograms().Count(i => i.MapIds.Contains(mapId));

    private static int ProgramsNamed(string name) => EnumeratePrograms().Count(i => i.Name == name);

    private static List<BpfProgramInfo> EnumeratePrograms()
    {
        var result = new List<BpfProgramInfo>();
        var id = 0u;
        while (Bpf.GetNextProgramId(id, out id))
        {
            try
            {
                using var p = Bpf.ProgramFromId(id);
                result.Add(Bpf.GetProgramInfo(p));
            }
            catch (BpfException e) when (e.Errno == Errno.ENOENT)
            {
                // Freed between listing and opening.
            }
        }

        return result;
    }
}
