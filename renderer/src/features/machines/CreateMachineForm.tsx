import { useEffect, useState, type FormEvent } from 'react';
import type { ProviderKind } from '../../../../shared/types';
import { api } from '../../api/client';
import { formatElapsed } from '../../components/Elapsed';
import { useToasts } from '../toasts/store';
import { MachineNameField, OpStatus, ProviderOptions, machineNameProblem } from './formParts';
import { openTerminal } from './openTerminal';
import { useMachines } from './store';

/** The machine answers SSH: say so, with the time it took and the next thing to do. */
function announceReady(name: string, startedAt: number) {
  useToasts.getState().push({
    kind: 'info',
    text: `${name} is running and answers SSH (${formatElapsed(Date.now() - startedAt)}).`,
    action: { label: 'Open terminal', run: () => openTerminal(name) },
  });
}

export function CreateMachineForm() {
  const { runOp, ops, providers, images, machines } = useMachines();
  const [name, setName] = useState('');
  const [provider, setProvider] = useState<ProviderKind>('qemu');
  const creators = providers.filter((p) => p.capabilities.createFromImage);
  const [image, setImage] = useState('debian-12');
  const [startIt, setStartIt] = useState(true);
  const [fast, setFast] = useState(true);
  const [memory, setMemory] = useState(1024);
  const [cpus, setCpus] = useState(2);
  const [host, setHost] = useState('');
  const [hosts, setHosts] = useState<string[]>([]);
  const op = ops['__create'];
  const caps = providers.find((p) => p.kind === provider)?.capabilities;
  const pooled = caps?.hostPool === true;
  // A copy of a ready template resumes in seconds instead of booting; the first one per image
  // and size builds the template (a boot) once.
  const fromReady = caps?.readyClone === true && startIt && fast;
  const taken = machines.map((m) => m.name);

  useEffect(() => {
    if (!pooled) return;
    void api()
      .call('hosts.list', {})
      .then((r) => r.ok && setHosts(r.value.map((h) => h.name)));
  }, [pooled]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (machineNameProblem(name, taken)) return;
    const startedAt = Date.now();
    const m = await runOp(
      api(),
      '__create',
      fromReady ? `Starting ${name} from the ready template` : `Creating ${name}`,
      'machines.create',
      {
        name,
        provider,
        image,
        memoryMiB: memory,
        cpus,
        ...(fromReady ? { ready: true } : {}),
        ...(pooled && host ? { host } : {}),
      },
      name,
    );
    if (!m) return;
    setName('');
    if (fromReady) return announceReady(m.name, startedAt);
    if (!startIt) return;
    const up = await runOp(api(), m.name, 'Starting', 'machines.up', { name: m.name });
    if (up) announceReady(m.name, startedAt);
  };

  return (
    <form className="create card" onSubmit={(e) => void submit(e)} aria-labelledby="create-h">
      <h3 id="create-h">New machine</h3>
      <MachineNameField value={name} onChange={setName} placeholder="lab1" taken={taken} />
      <label>
        Provider{' '}
        <select
          aria-label="Provider"
          value={provider}
          onChange={(e) => setProvider(e.target.value as ProviderKind)}
        >
          <ProviderOptions
            providers={creators.length ? creators : [{ kind: 'qemu', available: true, reason: undefined }]}
          />
        </select>
      </label>
      {pooled && (
        <label>
          Lab server{' '}
          <select aria-label="Lab server" value={host} onChange={(e) => setHost(e.target.value)}>
            <option value="">most headroom</option>
            {hosts.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Image{' '}
        <select aria-label="Image" value={image} onChange={(e) => setImage(e.target.value)}>
          {(images.some((i) => i.name === 'debian-12')
            ? images
            : [...images, { name: 'debian-12', kernel: '' }]
          ).map((i) => (
            <option key={i.name} value={i.name}>
              {i.name}
              {i.kernel ? ` (kernel ${i.kernel})` : ' (built or pulled on first use)'}
            </option>
          ))}
        </select>
      </label>
      <label>
        Memory (MiB){' '}
        <input
          type="number"
          min={256}
          step={256}
          value={memory}
          onChange={(e) => setMemory(Number(e.target.value))}
        />
      </label>
      <label>
        CPUs{' '}
        <input type="number" min={1} max={8} value={cpus} onChange={(e) => setCpus(Number(e.target.value))} />
      </label>
      <label className="check">
        <input type="checkbox" checked={startIt} onChange={(e) => setStartIt(e.target.checked)} /> Start it
      </label>
      {caps?.readyClone === true && (
        <label
          className="check"
          title="The first machine of an image and size builds the template once (a boot)."
        >
          <input
            type="checkbox"
            checked={fast}
            disabled={!startIt}
            onChange={(e) => setFast(e.target.checked)}
          />{' '}
          From the ready template (seconds)
        </label>
      )}
      <button type="submit" disabled={Boolean(op)}>
        Create machine
      </button>
      <OpStatus op={op} />
    </form>
  );
}
