import { useApiOnce } from '../../api/use-api-once';

/**
 * Where docker-bench-security will come from. The window never names host folders, so a local
 * copy is chosen with the CLI or the environment; this only says which one is in force.
 */
export function DockerBenchSource() {
  const { value, error } = useApiOnce('settings.get', {});
  const source = value?.dockerBench;
  if (error) return <p className="bad-text">{error}</p>;
  if (!source) return null;
  return (
    <p className="muted" data-testid="docker-bench-source">
      {source.kind === 'github' ? (
        <>
          docker-bench-security is fetched inside the guest from GitHub at commit{' '}
          <code>{source.commit.slice(0, 12)}</code> (v1.6.0): the guest needs internet access (a filtered QEMU
          machine: <code>codeload.github.com:443</code> in its egress allow list).
        </>
      ) : source.problem ? (
        <span className="bad-text">
          The docker-bench-security copy set by the {source.from} cannot be used: {source.problem}
        </span>
      ) : (
        <>
          docker-bench-security {source.version} from the local copy <code>{source.dir}</code> ({source.files}{' '}
          files, set by the {source.from}); each file&apos;s sha256 goes into the evidence.
        </>
      )}{' '}
      A local copy is set with <code>hlab settings set docker-bench-dir DIR</code> or{' '}
      <code>HLAB_DOCKER_BENCH_DIR</code>.
    </p>
  );
}
