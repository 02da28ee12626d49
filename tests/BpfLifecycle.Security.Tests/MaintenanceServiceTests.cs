// The hosted maintenance loop, composed through AddBpfLifecycle against the real kernel: runtime config pinned
// under the application's directory, idle programs cleaned up on the configured schedule.
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Security.Tests;

public sealed class MaintenanceServiceTests : KernelTestBase
{
    [Fact]
    public async Task The_loop_runs_every_interval_and_cleans_up_idle_programs()
    {
        var root = NewPinDirectory();
        var dir = NewTempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddBpfLifecycle(o =>
        {
            o.Application = "maint";
            o.PinRoot = root;
            o.Security.AllowUnsigned = true;
            o.Security.Audit.Path = Path.Combine(dir, "audit.jsonl");
            o.Monitoring.Interval = TimeSpan.FromMinutes(1);
            o.Budgets.IdleProgramTimeout = TimeSpan.FromMinutes(30);
        });
        var appDir = Path.Combine(root, "maint");
        Directory.CreateDirectory(appDir);
        using (var p = Bpf.ProgramLoad(new BpfProgramSpec("idle_xdp", BpfProgramType.Xdp, new BpfAssembler().Return(2).Build())))
        {
            Bpf.Pin(p, Path.Combine(appDir, "idle_xdp"));
        }

        await using (var sp = services.BuildServiceProvider())
        {
            var ct = TestContext.Current.CancellationToken;
            sp.GetRequiredService<IStartupValidator>().Validate();
            var service = sp.GetServices<IHostedService>().OfType<BpfLifecycleMaintenanceService>().Single();
            await service.RunOnceAsync(ct);
            await service.StartAsync(ct);

            // A round by hand brings the monitor and reaper up and pins the runtime config map; then the schedule runs.
            Assert.Equal(1, service.Rounds);
            time.Advance(TimeSpan.FromMinutes(1));
            await WaitFor(() => service.Rounds >= 2, ct);
            Assert.True(File.Exists(Path.Combine(appDir, RuntimeConfigMap.MapName)));
            Assert.True(File.Exists(Path.Combine(appDir, "idle_xdp")));

            for (var i = 0; i < 31; i++)
            {
                time.Advance(TimeSpan.FromMinutes(1));
            }

            await WaitFor(() => !File.Exists(Path.Combine(appDir, "idle_xdp")), ct);
            await service.StopAsync(ct);
            Assert.True(service.Rounds >= 3);
        }

        var entries = AuditLogVerifier.ReadAll(Path.Combine(dir, "audit.jsonl"));
        Assert.Contains(entries, e => e.Action == AuditAction.IdleCleanup && e.Program == "idle_xdp");
    }

    private static async Task WaitFor(Func<bool> condition, CancellationToken ct)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, ct);
        }

        Assert.True(condition(), "condition not reached within 5 s");
    }
}
