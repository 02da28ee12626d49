// DI registration of the deployment manager: options with validation at start, gates, a health
// evaluator (the host's, or a threshold default), TimeProvider and logging from the container.
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Health;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Deployment.DependencyInjection;

/// <summary>Chains further deployment registrations.</summary>
public sealed class BpfDeploymentBuilder
{
    internal BpfDeploymentBuilder(IServiceCollection services, OptionsBuilder<DeploymentOptions> options)
    {
        Services = services;
        Options = options;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The options builder, e.g. to <c>Bind</c> configuration.</summary>
    public OptionsBuilder<DeploymentOptions> Options { get; }

    /// <summary>Adds a gate that runs before the kernel is touched.</summary>
    public BpfDeploymentBuilder AddGate<TGate>() where TGate : class, IDeploymentGate
    {
        Services.AddSingleton<IDeploymentGate, TGate>();
        return this;
    }

    /// <summary>Uses <typeparamref name="TEvaluator"/> to judge candidates (replaces the threshold default).</summary>
    public BpfDeploymentBuilder UseHealthEvaluator<TEvaluator>() where TEvaluator : class, IHealthEvaluator
    {
        Services.Replace(ServiceDescriptor.Singleton<IHealthEvaluator, TEvaluator>());
        return this;
    }
}

/// <summary>Registers <see cref="DeploymentManager"/> in a service collection.</summary>
public static class BpfDeploymentServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="DeploymentManager"/> configured by <paramref name="configure"/>; invalid
    /// options fail at host start with every problem named.
    /// </summary>
    public static BpfDeploymentBuilder AddBpfDeployment(this IServiceCollection services, Action<DeploymentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<DeploymentOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeploymentOptions>, DeploymentOptionsValidator>());
        options.ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IHealthEvaluator>(sp => RolloutHealthRules.CreateEvaluator(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new DeploymentManager(
            sp.GetRequiredService<IOptions<DeploymentOptions>>().Value,
            sp.GetServices<IDeploymentGate>(),
            sp.GetRequiredService<IHealthEvaluator>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<DeploymentManager>>()));
        return new BpfDeploymentBuilder(services, options);
    }
}

/// <summary>Validates <see cref="DeploymentOptions"/>.</summary>
internal sealed class DeploymentOptionsValidator : IValidateOptions<DeploymentOptions>
{
    public ValidateOptionsResult Validate(string? name, DeploymentOptions options)
    {
        var errors = options.Validate().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
