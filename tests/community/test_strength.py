import networkx as nx
import pytest
import torch
from networkx.algorithms.community import modularity
from torch_geometric.utils import to_networkx, to_undirected

from gcl.community import community_strength, detect
from gcl.datasets import load


def parts(c):
    return [set(torch.nonzero(c == k).flatten().tolist())
            for k in range(int(c.max()) + 1) if (c == k).any()]


def nx_strengths(g, c):
    """Per-community modularity terms computed with networkx, community by
    community (the official code's definition)."""
    m = g.number_of_edges()
    out = []
    for k in range(int(c.max()) + 1):
        nodes = torch.nonzero(c == k).flatten().tolist()
        inner = g.subgraph(nodes).number_of_edges()  # self-loop counts 1
        deg = sum(d for _, d in g.degree(nodes))     # self-loop adds 2
        out.append(inner / m - (deg / (2 * m)) ** 2)
    return torch.tensor(out, dtype=torch.float64)


def messy_graph(n=200, e=900, seed=0):
    """Random graph with self-loops, duplicate entries and one-way entries."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    loops = torch.arange(0, n, 17).repeat(2, 1)
    und = to_undirected(ei)
    ei = torch.cat([und, ei[:, :50], loops, loops], dim=1)  # duplicates
    ei = ei[:, torch.randperm(ei.size(1), generator=g)]
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(ei.t().tolist())
    return ei, n, graph


def check(ei, n, graph, c):
    s_c, s_i = community_strength(ei, c, n, dtype=torch.float64)
    assert s_c.shape == (int(c.max()) + 1,) and s_i.shape == (n,)
    assert torch.allclose(s_c, nx_strengths(graph, c), atol=1e-12)
    assert abs(float(s_c.sum()) - modularity(graph, parts(c), weight=None)) < 1e-10
    assert torch.equal(s_i, s_c[c])


@pytest.mark.parametrize("seed", [0, 1])
def test_random_graph_detected_and_random_partitions(seed):
    ei, n, graph = messy_graph(seed=seed)
    check(ei, n, graph, detect(ei, num_nodes=n, seed=seed))
    g = torch.Generator().manual_seed(seed)
    check(ei, n, graph, torch.randint(0, 7, (n,), generator=g))


def test_karate_club():
    graph = nx.karate_club_graph()
    ei = to_undirected(torch.tensor(list(graph.edges())).t())
    clubs = torch.tensor([graph.nodes[i]["club"] == "Officer"
                          for i in range(34)]).long()
    check(ei, 34, graph, clubs)
    check(ei, 34, graph, detect(ei, num_nodes=34))


def test_cora():
    data = load("Cora")
    graph = to_networkx(data, to_undirected=True)
    check(data.edge_index, data.num_nodes, graph, detect(data))
    g = torch.Generator().manual_seed(0)
    check(data.edge_index, data.num_nodes, graph,
          torch.randint(0, 50, (data.num_nodes,), generator=g))


def test_hand_values_isolated_and_negative():
    # path 0-1-2 and 3-4, node 5 isolated; communities {0,1}, {2}, {3,4}, {5}
    ei = to_undirected(torch.tensor([[0, 1, 3], [1, 2, 4]]))
    c = torch.tensor([0, 0, 1, 2, 2, 3])
    s_c, s_i = community_strength(ei, c)
    m = 3
    ref = [1 / m - (3 / 6) ** 2, 0 - (1 / 6) ** 2, 1 / m - (2 / 6) ** 2, 0.0]
    assert torch.allclose(s_c, torch.tensor(ref))
    assert s_c.dtype == torch.float32
    assert s_c[1] < 0 and s_i[5] == 0  # singleton of degree 1; isolated node


def test_unused_labels_get_zero():
    ei = to_undirected(torch.tensor([[0, 2], [1, 3]]))
    s_c, _ = community_strength(ei, torch.tensor([0, 0, 3, 3]))
    assert s_c.shape == (4,) and s_c[1] == 0 and s_c[2] == 0
    assert torch.allclose(s_c[[0, 3]], torch.tensor([0.25, 0.25]))


def test_errors():
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="no edges"):
        community_strength(torch.zeros(2, 0, dtype=torch.long),
                           torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="3 entries but the graph has 2"):
        community_strength(ei, torch.tensor([0, 0, 1]), num_nodes=2)
    with pytest.raises(ValueError, match=">= 0"):
        community_strength(ei, torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="integer"):
        community_strength(ei, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        community_strength(ei, torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="refers to node 5"):
        community_strength(torch.tensor([[0, 5], [1, 0]]), torch.tensor([0, 1]))
