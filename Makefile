# hilserl - the commands a new user needs (see README.md).
#   make demo   install dependencies, build, run the main job
#   make test   install dependencies, build, run the unit tests
#   make bench  install dependencies, build, print benchmark numbers
BUILD_DIR ?= build
JOBS ?= 2
BUILD_TYPE ?= Release
OUT ?= out
DEMO_EPISODES ?= 20

.PHONY: all deps configure build test demo bench clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# Until training exists (issue 3/4), the demo is the scripted expert on PickCube from
# pixels, recorded to a video.
demo: build
	./$(BUILD_DIR)/hilserl rollout --task pick_cube --policy scripted --obs pixels \
	    --episodes $(DEMO_EPISODES) --video $(OUT)/demo_pick_cube.mp4 --json $(OUT)/demo_pick_cube.json

bench: build
	mkdir -p $(OUT)
	./$(BUILD_DIR)/hilserl_bench --benchmark_out=$(OUT)/bench.json --benchmark_out_format=json \
	    --benchmark_counters_tabular=true

clean:
	rm -rf $(BUILD_DIR)
