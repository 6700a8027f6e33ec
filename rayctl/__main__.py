from rayctl.cli import main

main()
