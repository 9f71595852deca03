import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { ProgressBar } from '../../components/ProgressBar';
import { useMachines } from './store';

export function CreateMachineForm() {
  const { runOp, ops } = useMachines();
  const [name, setName] = useState('');
  const [memory, setMemory] = useState(1024);
  const [cpus, setCpus] = useState(2);
  const op = ops['__create'];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void runOp(api(), '__create', `Creating ${name}`, 'machines.create', {
      name,
      memoryMiB: memory,
      cpus,
    }).then((m) => {
      if (m) setName('');
    });
  };

  return (
    <form className="create" onSubmit={submit} aria-label="Create machine">
      <label>
        Name{' '}
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          pattern="[A-Za-z0-9][A-Za-z0-9._-]*"
          required
          placeholder="lab1"
        />
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
      <button type="submit" disabled={Boolean(op)}>
        Create machine
      </button>
      {op && (
        <>
          <ProgressBar progress={op.progress} label={op.label} />
          <button type="button" onClick={op.cancel}>
            Cancel
          </button>
        </>
      )}
    </form>
  );
}
