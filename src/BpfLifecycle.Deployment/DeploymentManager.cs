// The deployment manager of one application: runs the pipeline validate -> gates -> resources and state-map
// compatibility -> register -> load and pin -> strategy -> commit or revert -> retention cleanup, with a
// write-ahead journal so a crash at any step is finished or reverted by RecoverAsync, and a lock file so
// two processes never interleave. Exactly one version serves each hook at any time.
using System.Text.Json;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Health;
using BpfLifecycle.Deployment.Kernel;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BpfLifecycle.Deployment;

/// <summary>Deploys, promotes, rolls back and recovers the versions of one application's BPF program.</summary>
public sealed partial class DeploymentManager : IDisposable
{
    private const string VersionIdGlobal = "bpflc_version_id";
    // Ratio rules report infinity when the baseline had no errors or no time: keep those figures readable.
    private static readonly JsonSerializerOptions EvidenceJson = new(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly DeploymentOptions _options;
    private readonly IReadOnlyList<IDeploymentGate> _gates;
    private readonly IHealthEvaluator _health;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _inProcess = new(1, 1);
    private readonly string _stateDir;
    private readonly AppPins _pins;
    private readonly VersionRegistry _registry;
    private readonly Journal _journal;
    private readonly ArtifactStore _store;
    private volatile RolloutSnapshot? _running;

    /// <summary>Creates the manager. Nothing touches the kernel until an operation runs.</summary>
    public DeploymentManager(DeploymentOptions options, IEnumerable<IDeploymentGate>? gates = null, IHealthEvaluator? healthEvaluator = null, TimeProvider? timeProvider = null, ILogger<DeploymentManager>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _gates = (gates ?? []).OrderBy(g => g.Order).ToList();
        _time = timeProvider ?? TimeProvider.System;
        _health = healthEvaluator ?? RolloutHealthRules.CreateEvaluator(_time);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _stateDir = Path.Combine(options.StateDirectory, options.Application);
        Directory.CreateDirectory(_stateDir);
        _pins = new AppPins(Path.Combine(options.BpffsRoot, options.Application));
        _registry = new VersionRegistry(Path.Combine(_stateDir, "registry.json"));
        _journal = new Journal(Path.Combine(_stateDir, "journal.json"));
        _store = new ArtifactStore(Path.Combine(_stateDir, "artifacts"));
    }

    /// <summary>The application.</summary>
    public string Application => _options.Application;

    /// <summary>The rules rollouts are judged by.</summary>
    public IHealthEvaluator HealthEvaluator => _health;

    /// <summary>The artifact store of the application.</summary>
    public ArtifactStore Artifacts => _store;

    private sealed record RolloutSnapshot(long CandidateId, string Strategy, RolloutSlots Slots);

    private sealed class RolloutSlots
    {
        public int CanaryBasisPoints;
    }

    // ------------------------------------------------------------------ deploy

    /// <summary>Deploys <paramref name="artifact"/> with the request's strategy and promotes or rolls it back.</summary>
    public async Task<DeploymentOutcome> DeployAsync(Artifact artifact, DeploymentRequest request, IProgress<RolloutEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(request);
        var program = request.Program ?? artifact.Manifest.Programs[0].Name;
        var manifestProgram = artifact.Manifest.Programs.FirstOrDefault(p => p.Name == program)
            ?? throw new ArgumentException($"Program '{program}' is not in the manifest of {artifact.Manifest.Name} (programs: {string.Join(", ", artifact.Manifest.Programs.Select(p => p.Name))}).", nameof(request));
        var attachPoints = request.AttachPoints ?? manifestProgram.AttachPoints.ToList();
        if (attachPoints.Count == 0)
        {
            throw new ArgumentException($"No attach points: neither the request nor the manifest's program '{program}' names one.", nameof(request));
        }

        await _inProcess.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var lockFile = await AcquireLockAsync(cancellationToken).ConfigureAwait(false);
            _registry.Reload();
            await RecoverCoreAsync(progress).ConfigureAwait(false);

            // Gates: nothing is registered or loaded before every gate allows.
            var objectMaps = ObjectLoader.ReadMapSpecs(artifact.ObjectBytes);
            var gateContext = new GateContext(Application, artifact, objectMaps);
            foreach (var gate in _gates)
            {
                var verdict = await gate.CheckAsync(gateContext, cancellationToken).ConfigureAwait(false);
                if (!verdict.Allowed)
                {
                    LogRefused(_logger, Application, gate.Name, verdict.Reason);
                    return new DeploymentOutcome(DeploymentResult.Refused, null, new DeploymentRefusedException(gate.Name, verdict.Reason).Message, null);
                }

                Emit(progress, RolloutEventKind.GatePassed, 0, $"gate {gate.Name}: {verdict.Reason}");
            }

            var baseline = _registry.Active;
            if (baseline is not null)
            {
                var live = ExistingHooks();
                var wanted = attachPoints.Select(AppPins.HookName).Order(StringComparer.Ordinal).ToList();
                if (live.Count > 0 && !live.SequenceEqual(wanted))
                {
                    throw new InvalidOperationException($"The request's hooks ({string.Join(", ", wanted)}) differ from the live deployment's ({string.Join(", ", live)}); undeploy first to move hooks.");
                }

                CheckStateMaps(artifact, objectMaps, baseline);
            }

            _store.Put(artifact);
            var globals = new Dictionary<string, ulong>(artifact.Manifest.Globals, StringComparer.Ordinal);
            foreach (var (k, v) in request.Globals ?? new Dictionary<string, ulong>())
            {
                globals[k] = v;
            }

            var candidate = _registry.Register(id => new VersionRecord
            {
                Id = id,
                Name = artifact.Manifest.Name,
                Label = artifact.Manifest.Version,
                Commit = artifact.Manifest.Commit,
                ArtifactSha256 = artifact.Sha256,
                Program = program,
                DeployedAt = _time.GetUtcNow(),
            });
            SaveGlobals(candidate.Id, globals);
            var entry = WriteJournal(progress, new JournalEntry
            {
                OperationId = Guid.NewGuid(),
                Operation = JournalOperation.Deploy,
                Phase = JournalPhase.Registered,
                CandidateVersionId = candidate.Id,
                PreviousVersionId = baseline?.Id,
                HooksExisted = _pins.LinkPins().Any(),
                DispatcherExisted = _pins.HasDispatcher,
                StartedAt = _time.GetUtcNow(),
                Steps = ["registered"],
            });
            return await RunRolloutAsync(entry, candidate, baseline, artifact, attachPoints, request.Strategy, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inProcess.Release();
        }
    }

    /// <summary>Rolls back to <paramref name="toVersion"/> (default: the newest retained version before the active one), reloading it from the artifact store if it was released.</summary>
    public async Task<DeploymentOutcome> RollbackAsync(long? toVersion = null, IProgress<RolloutEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        await _inProcess.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var lockFile = await AcquireLockAsync(cancellationToken).ConfigureAwait(false);
            _registry.Reload();
            await RecoverCoreAsync(progress).ConfigureAwait(false);
            var active = _registry.Active ?? throw new InvalidOperationException($"'{Application}' has no active version to roll back from.");
            var target = toVersion is { } id
                ? _registry.Find(id) ?? throw new ArgumentException($"Version {id} is not in the registry of '{Application}'.", nameof(toVersion))
                : _registry.Versions.Where(v => v.Id < active.Id && v.Status is VersionStatus.Inactive or VersionStatus.Deprecated).MaxBy(v => v.Id)
                  ?? throw new InvalidOperationException($"'{Application}' has no earlier version to roll back to.");
            if (target.Id == active.Id)
            {
                return new DeploymentOutcome(DeploymentResult.Promoted, target, $"version {target.Id} is already active", null);
            }

            if (target.Status == VersionStatus.Failed)
            {
                throw new InvalidOperationException($"Version {target.Id} failed its rollout ({target.Reason}); roll back only to a version that served.");
            }

            var artifact = _store.Get(target.ArtifactSha256);
            var entry = WriteJournal(progress, new JournalEntry
            {
                OperationId = Guid.NewGuid(),
                Operation = JournalOperation.Rollback,
                Phase = JournalPhase.Registered,
                CandidateVersionId = target.Id,
                PreviousVersionId = active.Id,
                HooksExisted = true,
                DispatcherExisted = _pins.HasDispatcher,
                CandidatePreloaded = _pins.IsVersionPinned(target.Id),
                StartedAt = _time.GetUtcNow(),
                Steps = ["rollback requested"],
            });
            var hooks = ExistingHookPoints(artifact, target.Program);
            return await RunRolloutAsync(entry, target, active, artifact, hooks, RolloutStrategy.Immediate(), progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inProcess.Release();
        }
    }

    /// <summary>Detaches the application from its hooks and releases every kernel object; the registry and artifacts stay.</summary>
    public async Task UndeployAsync(IProgress<RolloutEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        await _inProcess.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var lockFile = await AcquireLockAsync(cancellationToken).ConfigureAwait(false);
            _registry.Reload();
            await RecoverCoreAsync(progress).ConfigureAwait(false);
            var entry = WriteJournal(progress, new JournalEntry
            {
                OperationId = Guid.NewGuid(),
                Operation = JournalOperation.Undeploy,
                Phase = JournalPhase.Committing,
                PreviousVersionId = _registry.Active?.Id,
                HooksExisted = true,
                StartedAt = _time.GetUtcNow(),
                Steps = ["undeploy"],
            });
            Finish(entry, progress);
        }
        finally
        {
            _inProcess.Release();
        }
    }

    /// <summary>Finishes or reverts an interrupted operation and reports drift between registry, bpffs and kernel.</summary>
    public async Task<RecoveryReport> RecoverAsync(IProgress<RolloutEvent>? progress = null, CancellationToken cancellationToken = default)
    {
        await _inProcess.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var lockFile = await AcquireLockAsync(cancellationToken).ConfigureAwait(false);
            _registry.Reload();
            return await RecoverCoreAsync(progress).ConfigureAwait(false);
        }
        finally
        {
            _inProcess.Release();
        }
    }

    /// <summary>All versions of the application, oldest first.</summary>
    public IReadOnlyList<VersionRecord> GetVersions() => ReadRegistry().Versions;

    /// <summary>A snapshot of the deployment: versions, kernel ids, routing, last health.</summary>
    public DeploymentStatus GetStatus()
    {
        var registry = ReadRegistry();
        var active = registry.Active;
        var running = _running;
        var journal = _journal.Read();
        uint? activeProgramId = null, candidateProgramId = null, dispatcherProgramId = null;
        var canary = 0;
        if (active is not null && _pins.IsVersionPinned(active.Id))
        {
            using var p = _pins.OpenVersionProgram(active.Id);
            activeProgramId = AppPins.ProgramId(p);
        }

        var candidateId = running?.CandidateId ?? journal?.CandidateVersionId;
        if (candidateId is { } cid && cid != active?.Id && _pins.IsVersionPinned(cid))
        {
            using var p = _pins.OpenVersionProgram(cid);
            candidateProgramId = AppPins.ProgramId(p);
        }
        else if (candidateId == active?.Id)
        {
            candidateId = null;
        }

        if (_pins.HasDispatcher)
        {
            using var d = Dispatcher.FromPins(_pins.DispatcherDir);
            dispatcherProgramId = AppPins.ProgramId(d.Program);
            canary = d.GetControl().CanaryBasisPoints;
        }

        var links = _pins.LinkPins().ToDictionary(p => Path.GetFileName(p), p => AppPins.LinkId(p), StringComparer.Ordinal);
        return new DeploymentStatus
        {
            Application = Application,
            Program = active?.Program,
            AttachPoints = links.Keys.Order(StringComparer.Ordinal).ToList(),
            Strategy = running?.Strategy ?? registry.LastRollout?.Strategy,
            ActiveVersionId = active?.Id,
            CandidateVersionId = candidateId,
            CanaryBasisPoints = canary,
            ActiveProgramId = activeProgramId,
            CandidateProgramId = candidateProgramId,
            DispatcherProgramId = dispatcherProgramId,
            LinkIds = links,
            Health = registry.LastRollout?.Health,
            PendingPhase = journal?.Phase,
        };
    }

    /// <inheritdoc />
    public void Dispose() => _inProcess.Dispose();

    // Readers get their own copy of the file: reloading the shared registry here could swap an older document in
    // under a rollout that is writing it.
    private VersionRegistry ReadRegistry() => new(Path.Combine(_stateDir, "registry.json"));

    /// <summary>Persists the rollout's strategy and latest health with the registry so status survives a restart.</summary>
    internal void RecordRollout(string strategy, long versionId, HealthReport? health)
    {
        // Status only: a failure to write it must not undo or hide a rollout decision.
        try
        {
            _registry.RecordRollout(new RolloutRecord
            {
                Strategy = strategy,
                VersionId = versionId,
                Health = health ?? _registry.LastRollout?.Health,
                RecordedAt = _time.GetUtcNow(),
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            LogRolloutRecordFailed(_logger, Application, versionId, e);
        }
    }

    // ------------------------------------------------------------------ pipeline

    private async Task<DeploymentOutcome> RunRolloutAsync(JournalEntry entry, VersionRecord candidate, VersionRecord? baseline, Artifact artifact, IReadOnlyList<AttachPoint> attachPoints, RolloutStrategy strategy, IProgress<RolloutEvent>? progress, CancellationToken cancellationToken)
    {
        var slots = new RolloutSlots();
        _running = new RolloutSnapshot(candidate.Id, strategy.Name, slots);
        RolloutDecision decision;
        Exception? failure = null;
        try
        {
            entry = Advance(entry, JournalPhase.Loading, "load candidate", progress);
            EnsureLoaded(candidate, artifact, baseline);
            Emit(progress, RolloutEventKind.Loaded, candidate.Id, $"version {candidate.Id} ({candidate.Label}) loaded and pinned");
            entry = Advance(entry, JournalPhase.Loaded, "candidate pinned", progress);
            entry = Advance(entry, JournalPhase.Switching, $"prepare hooks for {strategy.SwitchMode}", progress);
            PrepareHooks(candidate, baseline, attachPoints, strategy.SwitchMode);
            entry = Advance(entry, JournalPhase.Observing, $"strategy {strategy.Name}", progress);
            var context = new ManagerRolloutContext(this, candidate, baseline, attachPoints, strategy.Name, slots, artifact, progress);
            decision = await strategy.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
            decision = RolloutDecision.RollBack($"{e.GetType().Name}: {e.Message}");
        }

        try
        {
            if (decision.Promote)
            {
                entry = Advance(entry, JournalPhase.Committing, "promote", progress);
                Finish(entry, progress);
                RecordEvidence(candidate.Id, "promoted", decision);
                Emit(progress, RolloutEventKind.Promoted, candidate.Id, decision.Reason, decision.Evidence);
                LogDecision(_logger, Application, candidate.Id, "promoted", decision.Reason);
                return new DeploymentOutcome(DeploymentResult.Promoted, _registry.Find(candidate.Id), decision.Reason, decision.Evidence);
            }

            Revert(entry, decision.Reason, progress);
            RecordEvidence(candidate.Id, "rolled-back", decision);
            Emit(progress, RolloutEventKind.RolledBack, candidate.Id, decision.Reason, decision.Evidence);
            LogDecision(_logger, Application, candidate.Id, "rolled back", decision.Reason);
            if (failure is OperationCanceledException)
            {
                throw failure;
            }

            return new DeploymentOutcome(DeploymentResult.RolledBack, _registry.Find(candidate.Id), decision.Reason, decision.Evidence);
        }
        finally
        {
            RecordRollout(strategy.Name, candidate.Id, decision.Evidence);
            _running = null;
        }
    }

    private void EnsureLoaded(VersionRecord version, Artifact artifact, VersionRecord? liveVersion)
    {
        if (_pins.IsVersionPinned(version.Id))
        {
            return;
        }

        var reuse = new Dictionary<string, BpfMapHandle>(StringComparer.Ordinal);
        try
        {
            if (liveVersion is not null && liveVersion.Id != version.Id)
            {
                foreach (var name in artifact.Manifest.StateMaps)
                {
                    if (_pins.TryOpenVersionMap(liveVersion.Id, name) is { } m)
                    {
                        reuse[name] = m;
                    }
                }
            }

            var globals = LoadGlobals(version.Id);
            using var loaded = ObjectLoader.Load(artifact.ObjectBytes, version.Program, reuse, globals);
            _pins.PinVersion(version.Id, loaded);
        }
        finally
        {
            foreach (var m in reuse.Values)
            {
                m.Dispose();
            }
        }
    }

    private Dictionary<string, ulong> LoadGlobals(long versionId)
    {
        var path = Path.Combine(_stateDir, "globals", $"{versionId}.json");
        var globals = File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, ulong>>(File.ReadAllBytes(path)) ?? []
            : [];
        return globals;
    }

    private void SaveGlobals(long versionId, Dictionary<string, ulong> globals)
    {
        var all = new Dictionary<string, ulong>(globals, StringComparer.Ordinal);
        all.TryAdd(VersionIdGlobal, (ulong)versionId);
        AtomicFile.WriteAllBytes(Path.Combine(_stateDir, "globals", $"{versionId}.json"), JsonSerializer.SerializeToUtf8Bytes(all));
    }

    private void CheckStateMaps(Artifact artifact, IReadOnlyList<BpfMapSpec> objectMaps, VersionRecord baseline)
    {
        foreach (var name in artifact.Manifest.StateMaps)
        {
            var spec = objectMaps.FirstOrDefault(m => m.Name == name)
                ?? throw new IncompatibleStateMapException(name, [$"the new object has no map '{name}'"]);
            using var live = _pins.TryOpenVersionMap(baseline.Id, name);
            if (live is null)
            {
                continue;
            }

            var diff = ObjectLoader.Compare(spec, Bpf.GetMapInfo(live));
            if (diff.Count > 0)
            {
                throw new IncompatibleStateMapException(name, diff);
            }
        }
    }

    private List<string> ExistingHooks() => _pins.LinkPins().Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList();

    private List<AttachPoint> ExistingHookPoints(Artifact artifact, string program)
    {
        var live = ExistingHooks();
        var fromManifest = artifact.Manifest.Programs.FirstOrDefault(p => p.Name == program)?.AttachPoints.ToList() ?? [];
        var matching = fromManifest.Where(ap => live.Contains(AppPins.HookName(ap))).ToList();
        return matching.Count > 0 ? matching : fromManifest;
    }

    /// <summary>Attaches hooks for a first deployment, or inserts the dispatcher when the strategy needs one.</summary>
    private void PrepareHooks(VersionRecord candidate, VersionRecord? baseline, IReadOnlyList<AttachPoint> attachPoints, TrafficSwitchMode mode)
    {
        using var candidateProgram = _pins.OpenVersionProgram(candidate.Id);
        if (attachPoints.Any(AppPins.NeedsDispatcher))
        {
            mode = TrafficSwitchMode.Dispatcher;
        }

        if (baseline is null || !_pins.LinkPins().Any())
        {
            // First deployment: the candidate serves from the moment the hook exists.
            if (mode == TrafficSwitchMode.Dispatcher)
            {
                using var d = EnsureDispatcher(candidateProgram);
                d.SetSlot(0, candidateProgram);
                d.SetControl(new DispatcherControl(0, 1, 0));
                foreach (var ap in attachPoints)
                {
                    _pins.Attach(ap, d.Program);
                }
            }
            else
            {
                foreach (var ap in attachPoints)
                {
                    _pins.Attach(ap, candidateProgram);
                }
            }

            return;
        }

        using var baselineProgram = _pins.OpenVersionProgram(baseline.Id);
        if (_pins.HasDispatcher)
        {
            using var d = Dispatcher.FromPins(_pins.DispatcherDir);
            var control = d.GetControl();
            var free = 1 - control.ActiveSlot;
            // The free slot receives no traffic (share 0) so filling it changes nothing that serves.
            d.SetControl(new DispatcherControl(control.ActiveSlot, free, 0));
            d.SetSlot(free, candidateProgram);
            return;
        }

        if (mode == TrafficSwitchMode.Dispatcher)
        {
            using var d = EnsureDispatcher(candidateProgram);
            d.SetSlot(0, baselineProgram);
            d.SetControl(new DispatcherControl(0, 1, 0));
            d.SetSlot(1, candidateProgram);
            foreach (var pin in _pins.LinkPins())
            {
                AppPins.UpdateLink(pin, d.Program, baselineProgram);
            }
        }
    }

    private Dispatcher EnsureDispatcher(BpfProgramHandle versionProgram)
    {
        if (_pins.HasDispatcher)
        {
            return Dispatcher.FromPins(_pins.DispatcherDir);
        }

        var type = Bpf.GetProgramInfo(versionProgram).Type;
        var d = Dispatcher.Create(type, "bpflc_" + Application[..Math.Min(Application.Length, 9)]);
        try
        {
            d.Pin(_pins.DispatcherDir);
        }
        catch
        {
            d.Dispose();
            Dispatcher.Unpin(_pins.DispatcherDir);
            throw;
        }

        return d;
    }

    // ------------------------------------------------------------------ commit / revert / recover

    /// <summary>Completes an operation past its decision: everything to the candidate, records, retention.</summary>
    private void Finish(JournalEntry entry, IProgress<RolloutEvent>? progress)
    {
        if (entry.Operation == JournalOperation.Undeploy)
        {
            _pins.RemoveAll();
            if (_registry.Active is { } a)
            {
                _registry.Update((a.Id, v => v with { Status = VersionStatus.Inactive, ProgramId = null }));
            }

            foreach (var v in _registry.Versions.Where(v => v.Status == VersionStatus.Inactive && v.ProgramId is not null).ToList())
            {
                _registry.Update((v.Id, r => r with { ProgramId = null }));
            }

            _journal.Complete();
            Emit(progress, RolloutEventKind.CleanedUp, entry.PreviousVersionId ?? 0, "undeployed: hooks detached and pins removed");
            return;
        }

        var candidateId = entry.CandidateVersionId!.Value;
        using var candidate = _pins.OpenVersionProgram(candidateId);
        RouteAllTo(candidate);
        var programId = AppPins.ProgramId(candidate);
        var changes = new List<(long, Func<VersionRecord, VersionRecord>)>
        {
            (candidateId, v => v with { Status = VersionStatus.Active, ProgramId = programId, Reason = null }),
        };
        foreach (var other in _registry.Versions.Where(v => v.Id != candidateId && v.Status == VersionStatus.Active))
        {
            changes.Add((other.Id, v => v with { Status = VersionStatus.Inactive }));
        }

        _registry.Update([.. changes]);
        _pins.WriteMirror(AppPins.MirrorKey.ActiveVersion, (ulong)candidateId);
        _pins.WriteMirror(AppPins.MirrorKey.ActiveProgramId, programId);
        _pins.WriteMirror(AppPins.MirrorKey.CandidateVersion, 0);
        _pins.WriteMirror(AppPins.MirrorKey.CanaryBasisPoints, 0);
        ApplyRetention(progress);
        _journal.Complete();
    }

    /// <summary>Returns every hook to the version that served before the operation and releases the candidate.</summary>
    private void Revert(JournalEntry entry, string reason, IProgress<RolloutEvent>? progress)
    {
        var previous = entry.PreviousVersionId is { } pid ? _registry.Find(pid) : null;
        var candidateId = entry.CandidateVersionId;
        if (previous is not null && entry.HooksExisted)
        {
            if (!_pins.IsVersionPinned(previous.Id))
            {
                EnsureLoaded(previous, _store.Get(previous.ArtifactSha256), null);
            }

            using var prev = _pins.OpenVersionProgram(previous.Id);
            RouteAllTo(prev);
            if (!entry.DispatcherExisted && _pins.HasDispatcher)
            {
                // The dispatcher was inserted by this operation: put the version back on the links directly.
                using (var d = Dispatcher.FromPins(_pins.DispatcherDir))
                {
                    foreach (var pin in _pins.LinkPins())
                    {
                        AppPins.UpdateLink(pin, prev, d.Program);
                    }
                }

                Dispatcher.Unpin(_pins.DispatcherDir);
            }
        }
        else
        {
            // A first deployment leaves nothing behind.
            _pins.DetachAndUnpinLinks();
            Dispatcher.Unpin(_pins.DispatcherDir);
        }

        if (candidateId is { } cid && cid != previous?.Id)
        {
            if (!entry.CandidatePreloaded)
            {
                _pins.UnpinVersion(cid);
            }

            if (entry.Operation == JournalOperation.Deploy && _registry.Find(cid) is not null)
            {
                _registry.Update((cid, v => v with { Status = VersionStatus.Failed, ProgramId = null, Reason = reason }));
            }
        }

        if (previous is not null)
        {
            _pins.WriteMirror(AppPins.MirrorKey.CandidateVersion, 0);
            _pins.WriteMirror(AppPins.MirrorKey.CanaryBasisPoints, 0);
        }
        else
        {
            AppPins.DeleteIfEmpty(_pins.VersionsDir);
            AppPins.DeleteFile(_pins.MirrorPath);
            AppPins.DeleteIfEmpty(_pins.Root);
        }

        _journal.Complete();
    }

    /// <summary>Routes every hook to <paramref name="program"/>: one control write with a dispatcher, a link update per hook otherwise.</summary>
    private void RouteAllTo(BpfProgramHandle program)
    {
        var id = AppPins.ProgramId(program);
        if (_pins.HasDispatcher)
        {
            using var d = Dispatcher.FromPins(_pins.DispatcherDir);
            var control = d.GetControl();
            int slot;
            if (d.GetSlotProgramId(control.ActiveSlot) == id)
            {
                slot = control.ActiveSlot;
            }
            else if (d.GetSlotProgramId(1 - control.ActiveSlot) == id)
            {
                slot = 1 - control.ActiveSlot;
            }
            else
            {
                // Fill the idle slot first: the canary share goes to zero before it changes content.
                slot = 1 - control.ActiveSlot;
                d.SetControl(new DispatcherControl(control.ActiveSlot, slot, 0));
                d.SetSlot(slot, program);
            }

            d.SetControl(new DispatcherControl(slot, 1 - slot, 0));
            d.ClearSlot(1 - slot);
            foreach (var pin in _pins.LinkPins())
            {
                if (AppPins.LinkProgramId(pin) != AppPins.ProgramId(d.Program))
                {
                    AppPins.UpdateLink(pin, d.Program, null);
                }
            }

            return;
        }

        foreach (var pin in _pins.LinkPins())
        {
            AppPins.UpdateLink(pin, program, null);
        }
    }

    private void ApplyRetention(IProgress<RolloutEvent>? progress)
    {
        var keepInactive = _options.RetainedVersions - 1;
        var inactive = _registry.Versions.Where(v => v.Status == VersionStatus.Inactive).OrderByDescending(v => v.Id).ToList();
        var released = new List<long>();
        foreach (var v in inactive.Skip(keepInactive))
        {
            _pins.UnpinVersion(v.Id);
            _registry.Update((v.Id, r => r with { Status = VersionStatus.Deprecated, ProgramId = null }));
            released.Add(v.Id);
        }

        foreach (var id in _pins.PinnedVersionIds().ToList())
        {
            var v = _registry.Find(id);
            if (v is null || v.Status is VersionStatus.Failed or VersionStatus.Deprecated)
            {
                _pins.UnpinVersion(id);
                released.Add(id);
            }
        }

        if (released.Count > 0)
        {
            Emit(progress, RolloutEventKind.CleanedUp, _registry.Active?.Id ?? 0, $"released version(s) {string.Join(", ", released)}");
        }
    }

    private async Task<RecoveryReport> RecoverCoreAsync(IProgress<RolloutEvent>? progress)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        var entry = _journal.Read();
        var action = RecoveryAction.None;
        if (entry is not null)
        {
            if (entry.Phase == JournalPhase.Committing)
            {
                Finish(entry, progress);
                action = RecoveryAction.Finished;
            }
            else
            {
                Revert(entry, $"interrupted during {entry.Phase}; reverted by recovery", progress);
                action = RecoveryAction.Reverted;
            }

            LogRecovered(_logger, Application, entry.Operation.ToString(), entry.Phase.ToString(), action.ToString());
        }

        var drift = new List<string>();
        foreach (var v in _registry.Versions.Where(v => v.Status == VersionStatus.Pending).ToList())
        {
            drift.Add($"version {v.Id} was registered but its operation left no journal entry; marked failed");
            _pins.UnpinVersion(v.Id);
            _registry.Update((v.Id, r => r with { Status = VersionStatus.Failed, Reason = "interrupted before its journal entry" }));
        }

        var active = _registry.Active;
        foreach (var id in _pins.PinnedVersionIds().ToList())
        {
            var v = _registry.Find(id);
            if (v is null || v.Status is VersionStatus.Failed or VersionStatus.Deprecated or VersionStatus.Pending)
            {
                drift.Add($"bpffs held version {id} ({v?.Status.ToString() ?? "not in the registry"}); unpinned");
                _pins.UnpinVersion(id);
            }
        }

        if (active is not null)
        {
            if (!_pins.IsVersionPinned(active.Id))
            {
                drift.Add($"active version {active.Id} had no pinned program");
            }
            else
            {
                using var prog = _pins.OpenVersionProgram(active.Id);
                var expected = AppPins.ProgramId(prog);
                if (active.ProgramId is { } recorded && recorded != expected)
                {
                    drift.Add($"registry says version {active.Id} is program {recorded}, bpffs holds program {expected}");
                }

                uint? dispatcherId = null;
                if (_pins.HasDispatcher)
                {
                    using var d = Dispatcher.FromPins(_pins.DispatcherDir);
                    dispatcherId = AppPins.ProgramId(d.Program);
                    var c = d.GetControl();
                    if (d.GetSlotProgramId(c.ActiveSlot) != expected || c.CanaryBasisPoints != 0)
                    {
                        drift.Add($"dispatcher routed slot {c.ActiveSlot} with canary {c.CanaryBasisPoints} bp, not version {active.Id} alone; re-routed");
                        RouteAllTo(prog);
                    }
                }

                foreach (var pin in _pins.LinkPins())
                {
                    var runs = AppPins.LinkProgramId(pin);
                    if (runs == 0)
                    {
                        drift.Add($"link {Path.GetFileName(pin)} is pinned but detached from its hook");
                    }
                    else if (runs != expected && runs != dispatcherId)
                    {
                        drift.Add($"link {Path.GetFileName(pin)} ran program {runs}, expected {expected}; re-routed");
                        AppPins.UpdateLink(pin, prog, null);
                    }
                }

                if (!_pins.LinkPins().Any())
                {
                    drift.Add($"active version {active.Id} has no pinned link: it serves no hook");
                }
            }
        }
        else if (_pins.LinkPins().Any())
        {
            drift.Add("links are pinned but no version is active");
        }

        return new RecoveryReport(action, entry, drift);
    }

    // ------------------------------------------------------------------ helpers

    private async Task<ApplicationLock> AcquireLockAsync(CancellationToken cancellationToken) =>
        await ApplicationLock.AcquireAsync(Application, Path.Combine(_stateDir, "lock"), _options.LockTimeout, _time, cancellationToken).ConfigureAwait(false);

    private JournalEntry WriteJournal(IProgress<RolloutEvent>? progress, JournalEntry entry)
    {
        _journal.Write(entry);
        Emit(progress, RolloutEventKind.JournalWritten, entry.CandidateVersionId ?? 0, $"{entry.Operation} {entry.Phase}", phase: entry.Phase);
        return entry;
    }

    private JournalEntry Advance(JournalEntry entry, JournalPhase phase, string step, IProgress<RolloutEvent>? progress)
    {
        var next = _journal.Advance(entry, phase, step);
        Emit(progress, RolloutEventKind.JournalWritten, entry.CandidateVersionId ?? 0, $"{entry.Operation} {phase}: {step}", phase: phase);
        return next;
    }

    private void RecordEvidence(long versionId, string decision, RolloutDecision d)
    {
        // The decision is already carried out; a failure to write its record must not undo or hide it.
        try
        {
            var doc = new { versionId, decision, reason = d.Reason, at = _time.GetUtcNow(), health = d.Evidence };
            AtomicFile.WriteAllBytes(Path.Combine(_stateDir, "evidence", $"{versionId}.json"), JsonSerializer.SerializeToUtf8Bytes(doc, EvidenceJson));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            LogEvidenceFailed(_logger, Application, versionId, e);
        }
    }

    /// <summary>The evidence file of a version's rollout decision, or null when none was recorded.</summary>
    public string? GetEvidencePath(long versionId)
    {
        var path = Path.Combine(_stateDir, "evidence", $"{versionId}.json");
        return File.Exists(path) ? path : null;
    }

    private void Emit(IProgress<RolloutEvent>? progress, RolloutEventKind kind, long versionId, string message, HealthReport? health = null, JournalPhase? phase = null)
    {
        if (progress is null)
        {
            return;
        }

        progress.Report(new RolloutEvent(kind, Application, versionId, message, _time.GetUtcNow())
        {
            Strategy = _running?.Strategy,
            CanaryBasisPoints = _running?.Slots.CanaryBasisPoints ?? 0,
            Health = health,
            Phase = phase,
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment of {Application} refused by gate {Gate}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string application, string gate, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Application} version {VersionId} {Decision}: {Reason}")]
    private static partial void LogDecision(ILogger logger, string application, long versionId, string decision, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Application}: could not record the evidence of version {VersionId}")]
    private static partial void LogEvidenceFailed(ILogger logger, string application, long versionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Application}: could not record the rollout status of version {VersionId}")]
    private static partial void LogRolloutRecordFailed(ILogger logger, string application, long versionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Application}: interrupted {Operation} at {Phase}: {Action}")]
    private static partial void LogRecovered(ILogger logger, string application, string operation, string phase, string action);
}
