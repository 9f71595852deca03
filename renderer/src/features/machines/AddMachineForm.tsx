import { useState, type FormEvent } from 'react';
import { shQuote } from '../../../../shared/shell';
import type { ProviderKind } from '../../../../shared/types';
import { MachineNameField, ProviderOptions } from './formParts';
import { useMachines } from './store';

/** A word as a POSIX shell reads it back: left as it is when plainly safe, quoted otherwise. */
const shWord = (s: string) => (/^[A-Za-z0-9_./:=@-]+$/.test(s) ? s : shQuote(s));

/**
 * Adds a machine the user already has: a Vagrant project directory or a VirtualBox VM. Both name
 * folders and key files of this computer, which a page may not do (it could probe the host's files
 * or run `vagrant` in any folder): the form writes the `hlab machine add` command to run instead.
 */
export function AddMachineForm() {
  const { providers } = useMachines();
  const adopters = providers.filter((p) => p.capabilities.adoptExisting);
  const [name, setName] = useState('');
  const [provider, setProvider] = useState<ProviderKind>('vagrant');
  const [dir, setDir] = useState('');
  const [vm, setVm] = useState('');
  const [sshUser, setSshUser] = useState('');
  const [sshKey, setSshKey] = useState('');
  const [copied, setCopied] = useState(false);
  const isVagrant = provider === 'vagrant';
  const command = [
    'hlab machine add',
    shWord(name || 'NAME'),
    `--provider ${provider}`,
    ...(isVagrant ? [`--dir ${shWord(dir || 'DIR')}`] : []),
    ...(vm ? [`--vm ${shWord(vm)}`] : []),
    ...(!isVagrant && sshUser ? [`--ssh-user ${shWord(sshUser)}`] : []),
    ...(!isVagrant && sshKey ? [`--ssh-key ${shWord(sshKey)}`] : []),
  ].join(' ');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void navigator.clipboard?.writeText(command).then(() => setCopied(true));
  };

  if (adopters.length === 0) return null;
  return (
    <form className="create card" onSubmit={submit} aria-labelledby="add-h">
      <h3 id="add-h">Add existing machine</h3>
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
      <code aria-label="Command to add the machine">{command}</code>
      <button type="submit">{copied ? 'Copied' : 'Copy command'}</button>
      <span className="hint">
        Adding names a folder or key file of this computer, which only the hlab CLI may do: run the command in
        a terminal and the machine appears here.
        {isVagrant && (
          <>
            {' '}
            SSH user and key come from <code>vagrant ssh-config</code>.
          </>
        )}
      </span>
    </form>
  );
}
