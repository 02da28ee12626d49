// services.AddBpfLifecycle(...): options from configuration validated at start, and every security, budget,
// runtime-config and observability service of the SDK, with a small builder for chaining.
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.Budgets;
using BpfLifecycle.Deployment.DependencyInjection;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Health;
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Maps.Sealed;
using BpfLifecycle.Observability;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.Observability.DependencyInjection;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Redaction;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle;

/// <summary>Returned by <c>AddBpfLifecycle</c> for chaining.</summary>
public sealed class BpfLifecycleBuilder
{
    private readonly ServiceDescriptor _maintenance;

    internal BpfLifecycleBuilder(IServiceCollection services, IBpfObservabilityBuilder observability, ServiceDescriptor maintenance)
    {
        Services = services;
        Observability = observability;
        _maintenance = maintenance;
    }

    /// <summary>
    /// Leaves out the hosted maintenance loop (CPU overhead sampling, idle-program clean-up), for hosts that run
    /// these guard rails themselves.
    /// </summary>
    public BpfLifecycleBuilder WithoutMaintenanceService()
    {
        Services.Remove(_maintenance);
        return this;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The observability layer's builder (alert sinks, webhooks).</summary>
    public IBpfObservabilityBuilder Observability { get; }

    /// <summary>Adds a custom deployment gate (a singleton); gates run by <see cref="IDeploymentGate.Order"/>.</summary>
    public BpfLifecycleBuilder AddGate<TGate>() where TGate : class, IDeploymentGate
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeploymentGate, TGate>());
        return this;
    }

    /// <summary>Adds an alert sink type.</summary>
    public BpfLifecycleBuilder AddAlertSink<TSink>() where TSink : class, IAlertSink
    {
        Observability.AddAlertSink<TSink>();
        return this;
    }

    /// <summary>Uses <paramref name="provider"/> for sealed map keys (instead of <see cref="SecurityOptions.SealingKeyDirectory"/>).</summary>
    public BpfLifecycleBuilder UseSealingKeyProvider(ISealingKeyProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Services.RemoveAll<ISealingKeyProvider>();
        Services.AddSingleton(provider);
        return this;
    }

    /// <summary>Uses a custom audit log (e.g. one that also ships entries off the host).</summary>
    public BpfLifecycleBuilder UseAuditLog<TAuditLog>() where TAuditLog : class, IAuditLog
    {
        Services.RemoveAll<IAuditLog>();
        Services.AddSingleton<IAuditLog, TAuditLog>();
        return this;
    }
}

/// <summary>Adds BpfLifecycle to a service collection.</summary>
public static class BpfLifecycleServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="BpfLifecycleOptions"/> from <paramref name="configuration"/> (the <c>BpfLifecycle</c> section,
    /// or the root if it has none), validates it at start, and registers the SDK's services.
    /// </summary>
    public static BpfLifecycleBuilder AddBpfLifecycle(this IServiceCollection services, IConfiguration configuration, Action<BpfLifecycleOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(BpfLifecycleOptions.SectionName);
        var source = section.Exists() ? section : configuration;
        services.AddOptions<BpfLifecycleOptions>().Bind(source);
        var builder = services.AddBpfLifecycle(configure);

        // Alert channels decide which sinks exist, so they are read at registration.
        foreach (var channel in source.GetSection("Alerts:Channels").Get<List<AlertChannelOptions>>() ?? [])
        {
            // An invalid URL is left to the start-time validation, which names the option.
            if (channel.Type == AlertChannelType.Webhook && channel.Url is { IsAbsoluteUri: true, Scheme: "http" or "https" })
            {
                builder.Observability.AddWebhookAlerts(o => o.Endpoint = channel.Url);
            }
        }

        return builder;
    }

    /// <summary>Registers the SDK's services with options configured in code. See <see cref="AddBpfLifecycle(IServiceCollection, IConfiguration, Action{BpfLifecycleOptions}?)"/>.</summary>
    public static BpfLifecycleBuilder AddBpfLifecycle(this IServiceCollection services, Action<BpfLifecycleOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<BpfLifecycleOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BpfLifecycleOptions>, BpfLifecycleOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BpfLifecycleOptions>, BpfLifecycleOptionsCrossValidator>());
        services.TryAddSingleton(TimeProvider.System);

        var observability = services.AddBpfObservability();
        services.AddOptions<ObservabilityOptions>().Configure<IOptions<BpfLifecycleOptions>>((o, lc) =>
        {
            var v = lc.Value;
            o.PollInterval = v.Monitoring.Interval;
            o.Health.MaxErrorRate = v.Alerts.Thresholds.ErrorRate;
            o.Health.MaxCpuShare = v.Alerts.Thresholds.CpuShare;
            o.Health.MaxMeanDuration = v.Alerts.Thresholds.MeanDuration;
        });

        // The deployment manager takes its places from the same options and the gates registered below. It judges
        // rollouts by the monitor's thresholds and severities with a rollout's evidence minimums (Rollout:MinimumRuns,
        // no time minimum): the monitor's minimums (100 runs, 30 s) would wave a faulty candidate through a canary step
        // of a few seconds for lack of evidence.
        services.AddBpfDeployment();
        services.AddOptions<DeploymentOptions>().Configure<IOptions<BpfLifecycleOptions>>((d, lc) =>
        {
            d.Application = lc.Value.Application;
            d.StateDirectory = lc.Value.StateDirectory;
            d.BpffsRoot = lc.Value.PinRoot;
            d.RetainedVersions = lc.Value.Rollout.RetainedVersions;
        });
        services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var rules = RolloutHealthRules.CreateOptions(
                sp.GetRequiredService<IOptions<ObservabilityOptions>>().Value.Health,
                sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Rollout.MinimumRuns);
            return new DeploymentManager(
                sp.GetRequiredService<IOptions<DeploymentOptions>>().Value,
                sp.GetServices<IDeploymentGate>(),
                new HealthEvaluator(rules, time),
                time,
                sp.GetService<ILogger<DeploymentManager>>());
        }));

        services.TryAddSingleton(sp =>
        {
            var r = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Security.Redaction;
            var ro = new RedactionOptions { RedactUserPaths = r.RedactUserPaths };
            foreach (var p in r.Patterns)
            {
                ro.Patterns.Add(p);
            }

            foreach (var n in r.SensitiveEnvironmentVariables)
            {
                ro.SensitiveEnvironmentVariables.Add(n);
            }

            return new Redactor(ro);
        });
        services.TryAddSingleton<IAuditLog>(sp =>
        {
            var a = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Security.Audit;
            return new FileAuditLog(
                new FileAuditLogOptions { Path = a.Path, SensitiveHashKey = a.SensitiveHashKeyFile is { Length: > 0 } f ? File.ReadAllBytes(f) : null },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<Redactor>());
        });
        services.TryAddSingleton(sp =>
        {
            var s = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Security;
            var store = new TrustStore();
            foreach (var k in s.TrustedKeys)
            {
                if (k.Path is { Length: > 0 })
                {
                    store.AddFile(k.Path, k.Id);
                }
                else
                {
                    store.AddPem(k.Id, k.Pem!);
                }
            }

            if (s.TrustedKeyDirectory is { Length: > 0 } dir)
            {
                store.AddDirectory(dir);
            }

            return store;
        });
        services.TryAddSingleton(sp => new SignaturePolicy(
            sp.GetRequiredService<TrustStore>(),
            new SignaturePolicyOptions { AllowUnsigned = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Security.AllowUnsigned },
            sp.GetRequiredService<IAuditLog>()));
        services.TryAddSingleton(sp =>
        {
            var drop = new CapabilityDropOptions();
            foreach (var c in sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Security.KeepCapabilities)
            {
                drop.Keep.Add(c);
            }

            return new CapabilityDropHook(drop, sp.GetRequiredService<IAuditLog>());
        });
        services.TryAddSingleton(sp => new PinnedResourceInventory(
            sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.PinDirectory,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IAuditLog>()));
        services.TryAddSingleton(sp => ToBudgetOptions(sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Budgets));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeploymentGate, SignatureGate>(sp => new SignatureGate(sp.GetRequiredService<SignaturePolicy>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeploymentGate, ResourceBudgetGate>(sp => new ResourceBudgetGate(sp.GetRequiredService<ResourceBudgetOptions>(), sp.GetRequiredService<PinnedResourceInventory>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeploymentGate, CapabilityGate>(_ => new CapabilityGate()));

        // Kernel-touching services are created on first use, not at registration.
        services.TryAddSingleton(sp => RuntimeConfigMap.OpenOrCreate(
            Path.Combine(sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.PinDirectory, RuntimeConfigMap.MapName),
            sp.GetRequiredService<IAuditLog>()));
        services.TryAddSingleton(sp =>
        {
            var v = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value;
            return new CpuOverheadMonitor(
                v.Application,
                sp.GetRequiredService<RuntimeConfigMap>(),
                new CpuOverheadOptions { DefaultLimit = v.Budgets.CpuShareLimit },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IAuditLog>(),
                sp.GetServices<IAlertSink>(),
                sp.GetService<ILogger<CpuOverheadMonitor>>());
        });
        services.TryAddSingleton(sp =>
        {
            var v = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value;
            return new IdleProgramReaper(
                sp.GetRequiredService<PinnedResourceInventory>(),
                new IdleProgramOptions { IdleAfter = v.Budgets.IdleProgramTimeout ?? TimeSpan.FromHours(1) },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IAuditLog>());
        });
        services.TryAddSingleton<ISealingKeyProvider>(sp =>
        {
            var dir = sp.GetRequiredService<IOptions<BpfLifecycleOptions>>().Value.Security.SealingKeyDirectory;
            return dir is { Length: > 0 }
                ? new DirectorySealingKeyProvider(dir)
                : throw new InvalidOperationException($"No sealing keys: set {BpfLifecycleOptions.SectionName}:Security:SealingKeyDirectory or call UseSealingKeyProvider(...).");
        });

        services.TryAddSingleton<BpfLifecycleMaintenanceService>();
        var maintenance = ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, BpfLifecycleMaintenanceService>(sp => sp.GetRequiredService<BpfLifecycleMaintenanceService>());
        services.TryAddEnumerable(maintenance);
        return new BpfLifecycleBuilder(services, observability, maintenance);
    }

    private static ResourceBudgetOptions ToBudgetOptions(BudgetOptions b) => new()
    {
        PerProgramBytes = b.PerProgramBytes,
        PerApplicationBytes = b.PerApplicationBytes,
        MaxPrograms = b.MaxPrograms,
        MaxSystemPrograms = b.MaxSystemPrograms,
        EvictUnreferencedMaps = b.EvictUnreferencedMaps,
    };
}
