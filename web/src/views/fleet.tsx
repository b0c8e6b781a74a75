import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { ApiFleet } from '../api/types.js';
import { href } from '../router.js';
import type { AppState } from '../state/app-state.js';
import { Empty, ErrorNote, Loading, Time } from '../ui/components.js';
import { formatDuration } from '../ui/format.js';

/** Whether the server lists its instances (`GET /api/whatsapp/instances`); the Fleet link shows only then. */
export function useFleetAvailable(api: Api): boolean {
  const [available, setAvailable] = useState(false);
  useEffect(() => {
    let stopped = false;
    api.instances().then(
      (list) => !stopped && setAvailable(list !== null),
      () => undefined,
    );
    return () => {
      stopped = true;
    };
  }, [api]);
  return available;
}

/** Which instance holds which account, with lease ages and epochs (several instances on one Firestore project). */
export function FleetView({ state }: { state: AppState }) {
  const [fleet, setFleet] = useState<ApiFleet | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    const load = (): void => {
      state.api.instances().then(
        (answer) => {
          if (stopped) return;
          setFleet(answer);
          setError(null);
        },
        (err: unknown) => !stopped && setError(err),
      );
    };
    load();
    const t = setInterval(load, 5000);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [state]);

  return (
    <main class="page" aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      {error !== null && <ErrorNote error={error} />}
      {fleet === undefined && error === null && <Loading what="instances" />}
      {fleet === null && (
        <Empty title="No fleet view on this server">
          <p>This server does not list its instances. It is older than the fleet API.</p>
        </Empty>
      )}
      {fleet && (
        <>
          <p class="muted small">
            Answered by {fleet.self} ({fleet.mode}). Owner lease {formatDuration(fleet.leaseMs)}, placement tick{' '}
            {formatDuration(fleet.tickMs)}: a dead instance&apos;s accounts move within the lease plus one tick.
          </p>
          <table class="fleet">
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Mode</th>
                <th scope="col">URL</th>
                <th scope="col">Accounts held</th>
                <th scope="col">Last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {fleet.instances.map((i) => (
                <tr key={i.instanceId} data-instance-id={i.instanceId}>
                  <th scope="row">{i.instanceId}</th>
                  <td>
                    {i.mode}
                    {i.state !== 'running' && <span class="muted small"> ({i.state})</span>}
                    {!i.alive && <span class="muted small"> (silent)</span>}
                    {i.self && <span class="muted small"> (this one)</span>}
                  </td>
                  <td>{i.url ?? '—'}</td>
                  <td>
                    <span class="small">
                      {i.accountCount}
                      {i.maxAccounts > 0 ? ` of at most ${i.maxAccounts}` : ''}
                    </span>
                    <ul class="plain">
                      {i.accounts.map((a) => (
                        <li key={a.accountId} data-held-account={a.accountId}>
                          <a href={href({ view: 'sync', accountId: a.accountId })}>{a.accountId}</a>
                          <span class="muted small">
                            {` epoch ${a.epoch}`}
                            {a.leaseAgeSeconds !== null && `, lease held ${formatDuration(a.leaseAgeSeconds * 1000)}`}
                            {a.expiresInSeconds !== null && `, expires in ${formatDuration(a.expiresInSeconds * 1000)}`}
                          </span>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    <Time iso={i.heartbeatAt} relative empty="—" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {fleet.unowned.length > 0 && <p class="small">Being taken over (no live owner): {fleet.unowned.join(', ')}</p>}
          {fleet.parked.length > 0 && <p class="small muted">Waiting for a person (nobody runs them): {fleet.parked.join(', ')}</p>}
        </>
      )}
    </main>
  );
}
