/**
 * `docker info`'s RegistryConfig for insecure-registries entries, as dockerd's
 * loadInsecureRegistries sorts them: a CIDR joins the insecure ranges beside loopback's, anything
 * else is an index reached insecurely.
 */
import { registryConfig } from '../src/host-info';

test('a CIDR among the insecure registries is an insecure range, not an index', () => {
  const config = registryConfig({ insecureRegistries: ['10.0.0.0/8', 'myreg:5000', 'http://fd00::/8'] });
  expect(config.InsecureRegistryCIDRs).toEqual(['10.0.0.0/8', 'fd00::/8', '::1/128', '127.0.0.0/8']);
  expect(Object.keys(config.IndexConfigs)).toEqual(['docker.io', 'myreg:5000']);
});

test('a CIDR is shown by its network, as Go prints an IPNet, and what is no IP network names an index', () => {
  const config = registryConfig({ insecureRegistries: ['10.1.2.3/8', 'cafe/16', '10.0.0.300/8'] });
  expect(config.InsecureRegistryCIDRs).toEqual(['10.0.0.0/8', '::1/128', '127.0.0.0/8']);
  expect(Object.keys(config.IndexConfigs)).toEqual(['10.0.0.300/8', 'cafe/16', 'docker.io']);
});
