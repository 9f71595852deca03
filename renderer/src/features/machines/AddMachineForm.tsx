import { useState, type FormEvent } from 'react';
import type { ProviderKind } from '../../../../shared/types';
import { api } from '../../api/client';
import { MachineNameField, OpStatus, ProviderOptions } from './formParts';
import { useMachines } from './store';

/** Adds a machine the user already has: a Vagrant project directory or a VirtualBox VM. */
export function AddMachineForm() {
  const { runOp, ops, providers } = useMachines();
  const adopters = providers.filter((p) => p.capabilities.adoptExisting);
  const [name, setName] = useState('');
  const [provider, setProvider] = useState<ProviderKind>('vagrant');
  const [dir, setDir] = useState('');
  const [vm, setVm] = useState('');
  const [sshUser, setSshUser] = useState('');
  const [sshKey, setSshKey] = useState('');
  const op = ops['__add'];
  const isVagrant = provider === 'vagrant';

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void runOp(api(), '__add', `Adding ${name}`, 'machines.add', {
      name,
      provider,
      ...(dir ? { dir } : {}),
      ...(vm ? { vm } : {}),
      ...(sshUser ? { sshUser } : {}),
      ...(sshKey ? { sshKeyFile: sshKey } : {}),
    }).then((m) => {
      if (m) setName('');
    });
  };

  if (adopters.length === 0) return null;
  return (
    <form className="create" onSubmit={submit} aria-label="Add existing machine">
      <MachineNameField value={name} onChange={setName} placeholder="my-box" />
      <label>
        From{' '}
        <select
          aria-label="Existing machine provider"
          value={provider}
          onChange={(e) => setProvider(e.target.value as ProviderKind)}
        >
          <ProviderOptions providers={adopters} />
        </select>
      </label>
      {isVagrant ? (
        <label>
          Project directory{' '}
          <input
            value={dir}
            onChange={(e) => setDir(e.target.value)}
            required
            placeholder="/home/me/project"
          />
        </label>
      ) : null}
      <label>
        {isVagrant ? 'Machine in the Vagrantfile' : 'VM name or UUID'}{' '}
        <input
          value={vm}
          onChange={(e) => setVm(e.target.value)}
          required={!isVagrant}
          placeholder={isVagrant ? 'default' : 'my-vm'}
        />
      </label>
      {!isVagrant && (
        <>
          <label>
            SSH user <input value={sshUser} onChange={(e) => setSshUser(e.target.value)} required />
          </label>
          <label>
            SSH key file{' '}
            <input
              value={sshKey}
              onChange={(e) => setSshKey(e.target.value)}
              placeholder="~/.ssh/id_ed25519"
            />
          </label>
        </>
      )}
      <button type="submit" disabled={Boolean(op)}>
        Add existing machine
      </button>
      {isVagrant && <span className="hint">SSH user and key come from `vagrant ssh-config`.</span>}
      <OpStatus op={op} />
    </form>
  );
}
