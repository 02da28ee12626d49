// Registration of the observability layer in a service collection: options with validation on start, meters,
// health evaluator, alert publisher and sinks, the monitor and its hosted monitoring loop.
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using BpfLifecycle.Observability.Monitoring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Observability.DependencyInjection;

/// <summary>Returned by <see cref="BpfObservabilityServiceCollectionExtensions.AddBpfObservability(IServiceCollection, Action{ObservabilityOptions}?)"/> for chaining.</summary>
public interface IBpfObservabilityBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}

/// <summary>Adds the BpfLifecycle observability layer to a service collection.</summary>
public static class BpfObservabilityServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ObservabilityOptions"/> (validated on start), <see cref="BpfLifecycleMetrics"/>,
    /// <see cref="IHealthEvaluator"/>, <see cref="AlertPublisher"/> with the <see cref="LoggerAlertSink"/>,
    /// <see cref="BpfMonitor"/> and the hosted <see cref="BpfMonitoringService"/>. Idempotent.
    /// </summary>
    public static IBpfObservabilityBuilder AddBpfObservability(this IServiceCollection services, Action<ObservabilityOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ObservabilityOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, ObservabilityOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BpfLifecycleMetrics>();
        services.TryAddSingleton<IHealthEvaluator>(sp => new HealthEvaluator(sp.GetRequiredService<IOptionsMonitor<ObservabilityOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, LoggerAlertSink>());
        services.TryAddSingleton<AlertPublisher>();
        services.TryAddSingleton<BpfMonitor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, BpfMonitoringService>());
        return new Builder(services);
    }

    /// <summary>As <see cref="AddBpfObservability(IServiceCollection, Action{ObservabilityOptions}?)"/>, binding the options from a configuration section first.</summary>
    public static IBpfObservabilityBuilder AddBpfObservability(this IServiceCollection services, IConfiguration configuration, Action<ObservabilityOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ObservabilityOptions>().Bind(configuration);
        return services.AddBpfObservability(configure);
    }

    /// <summary>Adds an alert sink type (a singleton).</summary>
    public static IBpfObservabilityBuilder AddAlertSink<TSink>(this IBpfObservabilityBuilder builder) where TSink : class, IAlertSink
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, TSink>());
        return builder;
    }

    /// <summary>Adds an alert sink instance.</summary>
    public static IBpfObservabilityBuilder AddAlertSink(this IBpfObservabilityBuilder builder, IAlertSink sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sink);
        builder.Services.AddSingleton(sink);
        return builder;
    }

    /// <summary>Adds a <see cref="WebhookAlertSink"/>; the options are validated here, so a bad endpoint fails at registration.</summary>
    public static IBpfObservabilityBuilder AddWebhookAlerts(this IBpfObservabilityBuilder builder, Action<WebhookAlertOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new WebhookAlertOptions();
        configure(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(nameof(WebhookAlertOptions), typeof(WebhookAlertOptions), problems);
        }

        builder.Services.AddSingleton<IAlertSink>(_ => new WebhookAlertSink(options));
        return builder;
    }

    /// <summary>Removes the default <see cref="LoggerAlertSink"/>.</summary>
    public static IBpfObservabilityBuilder WithoutLoggerAlerts(this IBpfObservabilityBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<LoggerAlertSink>();
        var d = builder.Services.FirstOrDefault(s => s.ServiceType == typeof(IAlertSink) && s.ImplementationType == typeof(LoggerAlertSink));
        if (d is not null)
        {
            builder.Services.Remove(d);
        }

        return builder;
    }

    private sealed class Builder(IServiceCollection services) : IBpfObservabilityBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

/// <summary>Validates <see cref="ObservabilityOptions"/> (every rule of <see cref="ObservabilityOptions.Validate"/>).</summary>
internal sealed class ObservabilityOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
