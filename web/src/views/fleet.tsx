import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { ApiInstance } from '../api/types.js';
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

/** Which instance holds which account, with the lease ages (several instances on one Firestore project). */
export function FleetView({ state }: { state: AppState }) {
  const [instances, setInstances] = useState<ApiInstance[] | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    const load = (): void => {
      state.api.instances().then(
        (list) => {
          if (stopped) return;
          setInstances(list);
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
      {instances === undefined && error === null && <Loading what="instances" />}
      {instances === null && (
        <Empty title="No fleet view on this server">
          <p>This server does not list its instances. It runs alone, or is older than the fleet API.</p>
        </Empty>
      )}
      {instances && (
        <table class="fleet">
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Mode</th>
              <th scope="col">URL</th>
              <th scope="col">Accounts held</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => (
              <tr key={i.instanceId} data-instance-id={i.instanceId}>
                <th scope="row">{i.instanceId}</th>
                <td>{i.mode ?? '—'}</td>
                <td>{i.advertisedUrl ?? i.url ?? '—'}</td>
                <td>
                  <ul class="plain">
                    {(i.accounts ?? []).map((a) => {
                      const id = typeof a === 'string' ? a : a.accountId;
                      return (
                        <li key={id}>
                          <a href={href({ view: 'sync', accountId: id })}>{id}</a>
                          {typeof a !== 'string' && (
                            <span class="muted small">
                              {a.leaseAgeMs !== undefined && a.leaseAgeMs !== null && ` lease ${formatDuration(a.leaseAgeMs)} old`}
                              {a.epoch !== undefined && a.epoch !== null && `, epoch ${a.epoch}`}
                            </span>
                          )}
                        </li>
                      );
                    })}
                  </ul>
                </td>
                <td>
                  <Time iso={typeof i.lastSeenAt === 'string' ? i.lastSeenAt : null} relative empty="—" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
