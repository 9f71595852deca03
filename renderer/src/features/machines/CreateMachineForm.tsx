import { useEffect, useState, type FormEvent } from 'react';
import type { ProviderKind } from '../../../../shared/types';
import { api } from '../../api/client';
import { MachineNameField, OpStatus, ProviderOptions } from './formParts';
import { useMachines } from './store';

export function CreateMachineForm() {
  const { runOp, ops, providers, images } = useMachines();
  const [name, setName] = useState('');
  const [provider, setProvider] = useState<ProviderKind>('qemu');
  const creators = providers.filter((p) => p.capabilities.createFromImage);
  const [image, setImage] = useState('debian-12');
  const [startIt, setStartIt] = useState(true);
  const [memory, setMemory] = useState(1024);
  const [cpus, setCpus] = useState(2);
  const [host, setHost] = useState('');
  const [hosts, setHosts] = useState<string[]>([]);
  const op = ops['__create'];
  const pooled = providers.find((p) => p.kind === provider)?.capabilities.hostPool === true;

  useEffect(() => {
    if (!pooled) return;
    void api()
      .call('hosts.list', {})
      .then((r) => r.ok && setHosts(r.value.map((h) => h.name)));
  }, [pooled]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void runOp(api(), '__create', `Creating ${name}`, 'machines.create', {
      name,
      provider,
      image,
      memoryMiB: memory,
      cpus,
      ...(pooled && host ? { host } : {}),
    }).then((m) => {
      if (m) setName('');
      if (m && startIt) void runOp(api(), m.name, 'Starting', 'machines.up', { name: m.name });
    });
  };

  return (
    <form className="create" onSubmit={submit} aria-label="Create machine">
      <MachineNameField value={name} onChange={setName} placeholder="lab1" />
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
      <label>
        <input type="checkbox" checked={startIt} onChange={(e) => setStartIt(e.target.checked)} /> start it
      </label>
      <button type="submit" disabled={Boolean(op)}>
        Create machine
      </button>
      <OpStatus op={op} />
    </form>
  );
}
