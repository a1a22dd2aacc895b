import { sharedSwarm } from './swarm-fixture';

const s = sharedSwarm();

test('node update refuses an unknown availability in dockerd\'s words', async () => {
  const [node] = await s.swarm.nodes();
  const spec = { ...node!.Spec, Availability: 'bogus' } as unknown as typeof node.Spec;
  await expect(s.swarm.updateNode(node!.ID, node!.Version.Index, spec)).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid Availability: "bogus"' });
});

test('node update refuses an unknown role in dockerd\'s words', async () => {
  const [node] = await s.swarm.nodes();
  const spec = { ...node!.Spec, Role: 'x' } as unknown as typeof node.Spec;
  await expect(s.swarm.updateNode(node!.ID, node!.Version.Index, spec)).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid Role: "x"' });
});
